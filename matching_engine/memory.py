"""Peak memory of a solve, for ``stats.peak_memory_mb``.

On Linux the kernel's resident-set high-water mark (VmHWM) can be reset by writing "5" to
/proc/self/clear_refs, so the peak seen after a reset belongs to this solve (HiGHS's C++
allocations included, which tracemalloc cannot see). Elsewhere we fall back to the process's
lifetime maximum from ``resource.getrusage`` and say so.
"""

from __future__ import annotations

import resource
import sys


class PeakMemory:
    """Measure the process's peak resident memory between ``start()`` and ``peak_mb()``."""

    def __init__(self) -> None:
        self.method = "rusage_maxrss_lifetime"
        self.baseline_mb = 0.0

    def start(self) -> PeakMemory:
        try:
            with open("/proc/self/clear_refs", "w") as handle:
                handle.write("5")
            self.method = "rss_high_water_mark"
        except OSError:
            self.method = "rusage_maxrss_lifetime"
        self.baseline_mb = self._status_mb("VmRSS") or 0.0
        return self

    @staticmethod
    def _status_mb(key: str) -> float | None:
        try:
            with open("/proc/self/status") as handle:
                for line in handle:
                    if line.startswith(key + ":"):
                        return int(line.split()[1]) / 1024.0
        except OSError:
            return None
        return None

    def peak_mb(self) -> float:
        if self.method == "rss_high_water_mark":
            value = self._status_mb("VmHWM")
            if value is not None:
                return round(value, 1)
        maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        # ru_maxrss is in KiB on Linux and bytes on macOS.
        return round(maxrss / (1024.0 * 1024.0) if sys.platform == "darwin" else maxrss / 1024.0,
                     1)
