"""Matching benchmark: our engine vs kep_solver (the peer) vs a greedy baseline, in one run.

Graph pools are compared with kep_solver; markets with the previous market method (the
enumeration kept in ``matching_engine.legacy_market``) and a greedy packing, side by side on the
same instances (``--market-table``: markets only). Arc building has its own cases (``build-*``).

    python bench/matching.py                # every case (the peer can take minutes per case)
    python bench/matching.py --quick        # a small subset
    python bench/matching.py --only saidman-1000 --peer-timeout 120
    python bench/matching.py --list

Each solver runs in its own subprocess (a clean process per measurement, so peak memory is the
solver's own): ours through ``matching_engine.solve`` on a graph document, the peer through
``kep_solver`` (PuLP + CBC; cycle-and-chain model, PICEF when there are chains) on the same
graph, killed after ``--peer-timeout`` seconds ("not finished in N s"), with its address space
capped (``--peer-memory-gb``) so it cannot take the shared machine down. Instances come from
fixed seeds (bench/generators.py), so every run measures the same graphs.

Counting conventions: kep_solver counts each chain's final donation to the
waiting list as a transplant, so its count minus the number of chains it chose is compared with
our objective (arcs used); its ``maxChainLength`` counts the gift, so our K transfers is its K+1.
Where both finish the benchmark asserts the optima are equal.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.generators import (  # noqa: E402
    dense_pool,
    national_market,
    realistic_market,
    saidman_arrays,
)

# name: (kind, parameters, targets)
CASES: dict[str, dict] = {
    "saidman-250": {"kind": "pool", "pairs": 250, "gifts": 0.0, "L": 3, "K": 0},
    "saidman-500": {"kind": "pool", "pairs": 500, "gifts": 0.0, "L": 3, "K": 0},
    "saidman-1000": {"kind": "pool", "pairs": 1000, "gifts": 0.0, "L": 3, "K": 0,
                     "target": 10.0},
    "dense-512-70k": {"kind": "dense", "pairs": 512, "arcs": 70_000, "L": 3, "K": 0,
                      "target": 30.0},
    "saidman-2000": {"kind": "pool", "pairs": 2000, "gifts": 0.0, "L": 3, "K": 0},
    "saidman-330+10%g-K3": {"kind": "pool", "pairs": 330, "gifts": 0.106, "L": 3, "K": 3},
    "saidman-1000+5%g-K3": {"kind": "pool", "pairs": 1000, "gifts": 0.05, "L": 3, "K": 3},
    "saidman-1000+5%g-K4": {"kind": "pool", "pairs": 1000, "gifts": 0.05, "L": 3, "K": 4,
                            "target": 30.0},
    # Markets: realistic (bench/generators.py), default settings (cycles <= 3, chains <= 3,
    # fairness 0.5, lexicographic); "limit" is the solve's time limit, "target" the issue's.
    "market-50": {"kind": "market", "orgs": 50, "limit": 30},
    "market-100": {"kind": "market", "orgs": 100, "limit": 30, "target": "optimal <= 30 s"},
    "market-200": {"kind": "market", "orgs": 200, "limit": 30, "target": "optimal <= 30 s"},
    "market-500": {"kind": "market", "orgs": 500, "limit": 30, "target": "optimal <= 30 s"},
    "market-1000": {"kind": "market", "orgs": 1000, "limit": 60, "target": "optimal <= 60 s"},
    "market-2000": {"kind": "market", "orgs": 2000, "limit": 120,
                    "target": "optimal <= 120 s or gap <= 0.5 %"},
    # National markets, doubling (the last one is the national round).
    "national-1250": {"kind": "market", "orgs": 1250, "limit": 600, "generator": "national"},
    "national-2500": {"kind": "market", "orgs": 2500, "limit": 600, "generator": "national"},
    "national-5000": {"kind": "market", "orgs": 5000, "limit": 600, "generator": "national"},
    "national-10000": {"kind": "market", "orgs": 10000, "limit": 600, "generator": "national",
                       "target": "<= 600 s, gap <= 1 %, <= 8 GiB"},
    # Building the exchange graph of an app-sized market (2,000 organisations, ~45,000
    # listings, ~3 M arcs).
    "build-app-2000": {"kind": "build", "orgs": 2000, "target": "<= 10 s"},
}
QUICK = ["saidman-250", "saidman-330+10%g-K3", "saidman-1000", "market-50", "market-100"]
SEED = 1
#: The previous method and the greedy baseline run in subprocesses with this memory cap (GB).
LEGACY_MEMORY_GB = 8.0


# --------------------------------------------------------------------------- instances


def pool_arrays(case: dict):
    """(n_pairs, n_gifts, src, dst) of a case's graph; gifts are numbered after the pairs."""
    if case["kind"] == "dense":
        doc = dense_pool(case["pairs"], case["arcs"], SEED)
        src = [int(a["from"]) for a in doc["arcs"]]
        dst = [int(a["to"]) for a in doc["arcs"]]
        return case["pairs"], 0, src, dst
    n_gifts = int(round(case["pairs"] * case["gifts"]))
    src, dst = saidman_arrays(case["pairs"], n_gifts, SEED)
    return case["pairs"], n_gifts, src.tolist(), dst.tolist()


def graph_document(case: dict) -> dict:
    n, g, src, dst = pool_arrays(case)
    nodes = [{"id": str(i)} for i in range(n)] + [{"id": str(n + j), "gift": True}
                                                  for j in range(g)]
    arcs = [{"from": str(a), "to": str(b)} for a, b in zip(src, dst, strict=True)]
    return {"nodes": nodes, "arcs": arcs,
            "settings": {"max_cycle": case["L"], "max_chain": case["K"]}}


# --------------------------------------------------------------------------- workers


def worker_ours(name: str, time_limit: float) -> dict:
    import numpy as np

    from matching_engine import solve
    from matching_engine.cycles import CycleSearch
    from matching_engine.graph import parse_graph
    from matching_engine.graph_solver import to_instance
    from matching_engine.kep import greedy, solution_weight

    case = CASES[name]
    doc = graph_document(case)
    started = time.perf_counter()
    result = solve(doc, time_limit=time_limit)
    wall = time.perf_counter() - started
    # Greedy baseline on the same instance (timed on its own).
    g0 = time.perf_counter()
    inst, _ = to_instance(parse_graph(doc), case["L"], case["K"])
    cycles, chains = greedy(inst)
    greedy_value = solution_weight(inst, cycles, chains)
    greedy_time = time.perf_counter() - g0
    three = CycleSearch(inst.n, inst.src, inst.dst, np.ones(len(inst.src))).count_three_cycles() \
        if inst.n <= 4096 else None
    stats = result["stats"]
    return {"objective": result["objective"], "bound": result["bound"],
            "status": result["status"], "wall": wall, "phases": stats["phases"],
            "peak_mb": stats["peak_memory_mb"], "method": stats.get("method"),
            "columns": stats.get("columns_generated"), "arcs": stats["arcs"],
            "pairs": stats["pair_nodes"], "gifts": stats["gift_nodes"],
            "three_cycles": three, "greedy": greedy_value, "greedy_time": greedy_time}


def market_document(case: dict) -> dict:
    if case["kind"] == "build":
        return realistic_market(case["orgs"], SEED, listings_per_org=(12, 34), n_regions=50,
                                remote_training=0.2)
    make = national_market if case.get("generator") == "national" else realistic_market
    return make(case["orgs"], SEED)


def worker_market(name: str, method: str) -> dict:
    """One market, one method: ``ours`` (solve), ``legacy`` (the enumeration method) or
    ``greedy`` (the legacy candidates, packed greedily: most needs, then most value)."""
    import numpy as np

    from matching_engine import solve
    from matching_engine.legacy_market import solve_legacy

    case = CASES[name]
    doc = market_document(case)
    limit = float(case["limit"])
    started = time.perf_counter()
    if method == "greedy":
        from matching_engine.exchanges import enumerate_candidates
        from matching_engine.legacy_market import _columns
        from matching_engine.market import build_arcs, parse_market
        from matching_engine.packing import greedy_packing

        market = parse_market(doc)
        arcs = build_arcs(market)
        cands = enumerate_candidates(market, arcs, 3, 3, time.monotonic() + 0.4 * limit)
        cols = _columns(market, arcs, cands)
        score = cols["needs"] + cols["value"] / (1.0 + cols["value"].max(initial=0.0))
        chosen = greedy_packing(cols["usage"].tocsr(), cols["capacity"], score)
        return {"objective": float(np.sum(cols["needs"][chosen])),
                "wall": time.perf_counter() - started, "truncated": cands.truncated,
                "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}
    result = (solve if method == "ours" else solve_legacy)(doc, time_limit=limit)
    wall = time.perf_counter() - started
    stats = result["stats"]
    return {"objective": result["objective"], "bound": result["bound"],
            "gap": result.get("gap_percent"), "status": result["status"], "wall": wall,
            "phases": stats["phases"], "peak_mb": stats["peak_memory_mb"],
            "columns": stats.get("candidate_exchanges"), "arcs": stats["arcs"],
            "orgs": stats["nodes"], "listings": stats["listings"],
            "levels": result.get("objectives"), "stages": stats.get("stages"),
            "parts": stats.get("parts"), "timed_out": stats.get("timed_out_phase"),
            "truncated": stats.get("enumeration_truncated")}


def worker_build(name: str, method: str) -> dict:
    """Arc building only: the vectorised table (ours) or the previous Python loop."""
    from matching_engine.arcs import build_arc_table
    from matching_engine.market import build_arcs, parse_market
    from matching_engine.memory import PeakMemory

    doc = market_document(CASES[name])
    market = parse_market(doc)
    memory = PeakMemory().start()
    started = time.perf_counter()
    arcs = len(build_arc_table(market)) if method == "ours" else len(build_arcs(market))
    return {"wall": time.perf_counter() - started, "arcs": arcs, "peak_mb": memory.peak_mb(),
            "orgs": len(doc["organisations"]), "listings": len(doc["listings"])}


def worker_peer(name: str) -> dict:
    import pulp
    from kep_solver.entities import Donor, Instance, Transplant
    from kep_solver.model import PICEF, CycleAndChainModel, TransplantCount
    from kep_solver.programme import Programme

    case = CASES[name]
    n, g, src, dst = pool_arrays(case)
    t0 = time.perf_counter()
    instance = Instance()
    donors = []
    for i in range(n):
        donor = Donor(f"d{i}")
        recipient = instance.recipient(f"r{i}")
        donor.recipient = recipient
        recipient.addDonor(donor)
        instance.addDonor(donor)
        donors.append(donor)
    for j in range(g):
        donor = Donor(f"n{j}")
        donor.NDD = True
        instance.addDonor(donor)
        donors.append(donor)
    for a, b in zip(src, dst, strict=True):
        instance.addTransplant(Transplant(donors[a], instance.recipient(f"r{b}"), 1.0))
    build = time.perf_counter() - t0
    model = PICEF if case["K"] > 0 else CycleAndChainModel
    programme = Programme([TransplantCount()], maxCycleLength=case["L"],
                          maxChainLength=case["K"] + 1 if case["K"] else 0,
                          description="bench", full_details=False, model=model)
    t1 = time.perf_counter()
    from kep_solver.solving import SolvingOptions

    options = SolvingOptions(solver=pulp.getSolver("PULP_CBC_CMD", msg=False, threads=1))
    solution, _ = programme.solve_single(instance, solvingOptions=options)
    solve_time = time.perf_counter() - t1
    chains = sum(1 for ex in solution.selected if ex.exchange.chain)
    transplants = float(solution.values[0])
    peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
               resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024.0
    return {"transplants": transplants, "chains": chains, "objective": transplants - chains,
            "build": build, "solve": solve_time, "wall": build + solve_time, "peak_mb": peak,
            "model": model.__name__}


# --------------------------------------------------------------------------- driver


def run_worker(args: list[str], timeout: float, memory_gb: float | None = None) -> dict:
    def limit() -> None:
        if memory_gb:
            cap = int(memory_gb * 1024 ** 3)
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", *args]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              preexec_fn=limit, cwd=ROOT, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"not finished in {timeout:.0f} s"}
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["?"])[-1]
        if "MemoryError" in proc.stderr or "Cannot allocate" in proc.stderr:
            return {"error": f"out of memory (capped at {memory_gb:g} GB)"}
        return {"error": f"failed: {tail[:80]}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def fmt(x, digits=2) -> str:
    if x is None:
        return "—"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def market_rows(names: list[str], args, raw: dict) -> list[list[str]]:
    """Run the market and build cases (each method in its own subprocess) and tabulate."""
    rows = []
    for name in names:
        case = CASES[name]
        print(f"## {name} ...", flush=True)
        if case["kind"] == "build":
            ours = run_worker(["build", name, "ours"], 600)
            legacy = run_worker(["build", name, "legacy"], args.legacy_build_timeout,
                                LEGACY_MEMORY_GB) if args.legacy_build else None
            raw[name] = {"ours": ours, "legacy": legacy}
            print(json.dumps(raw[name]), flush=True)
            old = "not run (--legacy-build)" if legacy is None else (
                legacy.get("error") or f"{legacy['wall']:.1f} s")
            met = "ours " + ours.get("error", "") if "error" in ours else (
                f"{case['target']}: " + ("met" if ours["wall"] <= 10 else "NOT met"))
            rows.append([name, f"{ours.get('orgs')} orgs / {ours.get('listings')} listings",
                         str(ours.get("arcs")), "build only", f"{ours.get('wall', 0):.2f} s",
                         f"{ours.get('peak_mb', 0):.0f}", "", "", "", old, "", "", "", met])
            continue
        limit = float(case["limit"])
        ours = run_worker(["market", name, "ours"], limit + 300)
        legacy = greedy = None
        if not args.no_legacy:
            legacy = run_worker(["market", name, "legacy"], 3 * limit + 300, LEGACY_MEMORY_GB)
            greedy = run_worker(["market", name, "greedy"], 2 * limit + 300, LEGACY_MEMORY_GB)
        raw[name] = {"ours": ours, "legacy": legacy, "greedy": greedy}
        print(json.dumps(raw[name]), flush=True)
        if "error" in ours:
            rows.append([name, "ours " + ours["error"]])
            continue
        proven = ours["status"] == "optimal"
        levels = ours.get("levels") or {}
        level_cell = " / ".join(fmt(levels.get(k), 0 if k != "completion" else 1)
                                for k in ("needs", "value", "parties", "completion"))
        gap = ours.get("gap")
        state = "optimal" if proven else (f"gap {gap:.2f} %" if gap is not None else "no bound")
        ours_cell = f"{fmt(ours['objective'], 0)} / {fmt(ours['bound'], 0)} ({state})"
        if legacy is None:
            legacy_cell = "not run"
        elif "error" in legacy:
            legacy_cell = legacy["error"]
        else:
            legacy_cell = (f"{fmt(legacy['objective'], 0)} / {fmt(legacy['bound'], 0)} "
                           f"({legacy['status']}{', cut' if legacy.get('truncated') else ''}), "
                           f"{legacy['wall']:.1f} s, {legacy['peak_mb']:.0f} MB")
        greedy_cell = "not run" if greedy is None else (
            greedy.get("error") or f"{fmt(greedy['objective'], 0)} ({greedy['wall']:.1f} s)")
        ratio = "—"
        if legacy and "error" not in legacy and legacy["objective"]:
            ratio = f"{ours['objective'] / legacy['objective']:.3f}"
        phases = ours["phases"]
        main_phases = ", ".join(f"{k} {v:.1f}" for k, v in phases.items()
                                if k != "total" and v >= 0.05)
        target = case.get("target")
        verdict = "—"
        if target:
            met = proven and ours["wall"] <= limit + 1
            if name == "market-2000":
                met = met or (gap is not None and gap <= 0.5)
            if name == "national-10000":
                met = ours["wall"] <= 601 and gap is not None and gap <= 1.0 \
                    and ours["peak_mb"] <= 8192
            verdict = f"{target}: " + ("met" if met else "NOT met")
        parts = ours.get("parts") or {}
        largest = ", ".join(map(str, parts.get("sizes", [])[:3]))
        rows.append([name, f"{ours['orgs']} orgs / {ours['listings']} listings",
                     str(ours["arcs"]), f"{limit:.0f} s", f"{ours['wall']:.1f} s",
                     f"{ours['peak_mb']:.0f}", ours_cell, level_cell,
                     f"{parts.get('count', '—')} ({largest})",
                     legacy_cell, greedy_cell, ratio, main_phases, verdict])
    return rows


MARKET_HEADER = ["case", "size", "arcs", "limit", "ours time", "ours peak MB",
                 "ours needs / bound (status)", "ours levels: needs / value / parties² / "
                 "completion", "parts (largest)", "previous method: needs / bound (status), "
                 "time, peak", "greedy needs (time)", "ours/previous needs", "ours phases (s)",
                 "target"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="only " + ", ".join(QUICK).replace("%", "%%"))
    parser.add_argument("--only", nargs="*", help="case names (see --list)")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--markets", action="store_true", help="only the market and build cases")
    parser.add_argument("--no-peer", action="store_true", help="skip kep_solver")
    parser.add_argument("--no-legacy", action="store_true",
                        help="skip the previous market method and the greedy baseline")
    parser.add_argument("--legacy-build", action="store_true",
                        help="also time the previous Python arc building (minutes at 2,000)")
    parser.add_argument("--legacy-build-timeout", type=float, default=400.0)
    parser.add_argument("--peer-timeout", type=float, default=300.0)
    parser.add_argument("--peer-memory-gb", type=float, default=8.0)
    parser.add_argument("--time-limit", type=float, default=300.0,
                        help="our time limit on graph pools (markets use their case's limit)")
    parser.add_argument("--json", type=Path, help="also write the raw measurements here")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        role, name = args.worker[0], args.worker[1]
        if role == "ours":
            print(json.dumps(worker_ours(name, float(args.worker[2]))))
        elif role == "market":
            print(json.dumps(worker_market(name, args.worker[2])))
        elif role == "build":
            print(json.dumps(worker_build(name, args.worker[2])))
        else:
            print(json.dumps(worker_peer(name)))
        return 0
    if args.list:
        for name, case in CASES.items():
            print(name, case)
        return 0

    names = args.only or (QUICK if args.quick else list(CASES))
    if args.markets:
        names = [n for n in names if CASES[n]["kind"] in ("market", "build")]
    load = os.getloadavg()
    print(f"# matching benchmark — {time.strftime('%Y-%m-%d %H:%M')} — {os.cpu_count()} CPUs, "
          f"load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} at start")
    rows, raw, failures = [], {}, []
    graph_names = [n for n in names if CASES[n]["kind"] not in ("market", "build")]
    for name in graph_names:
        case = CASES[name]
        print(f"## {name} ...", flush=True)
        ours = run_worker(["ours", name, str(args.time_limit)], args.time_limit + 600)
        peer = None
        if not args.no_peer:
            peer = run_worker(["peer", name], args.peer_timeout, args.peer_memory_gb)
        raw[name] = {"ours": ours, "peer": peer}
        print(json.dumps(raw[name]), flush=True)
        if "error" in ours:
            rows.append([name, "ours " + ours["error"]])
            continue
        target = case.get("target")
        met = None if target is None else (ours["status"] == "optimal" and ours["wall"] < target)
        peer_cell = peer_obj = ratio_t = "—"
        if peer is not None:
            if "error" in peer:
                peer_cell = peer["error"]
            else:
                peer_cell = f"{peer['wall']:.1f} s ({peer['model']}, {peer['peak_mb']:.0f} MB)"
                peer_obj = fmt(peer["objective"], 0)
                ratio_t = f"{peer['wall'] / ours['wall']:.1f}x"
                differs = abs(peer["objective"] - ours["objective"]) > 1e-6
                if ours["status"] == "optimal" and differs:
                    failures.append(f"{name}: ours {ours['objective']} != kep_solver "
                                    f"{peer['objective']}")
        phases = ours["phases"]
        main_phases = ", ".join(f"{k} {v:.2f}" for k, v in phases.items()
                                if k not in ("total", "pricing") and v >= 0.05)
        size = f"{ours['pairs']}" + (f"+{ours['gifts']}g" if ours["gifts"] else "")
        rows.append([
            name, size, str(ours["arcs"]), fmt(ours["three_cycles"]),
            f"{ours['wall']:.2f} s", main_phases, fmt(ours["objective"], 0),
            f"{ours['status']}" + ("" if ours["status"] == "optimal"
                                   else f" (bound {ours['bound']:.0f})"),
            f"{ours['peak_mb']:.0f}", peer_cell, peer_obj,
            f"{fmt(ours['greedy'], 0)} ({ours['greedy_time']:.2f} s)", ratio_t,
            f"{ours['objective'] / ours['greedy']:.3f}" if ours["greedy"] else "—",
            "—" if met is None else (f"< {target:.0f} s: met" if met else
                                     f"< {target:.0f} s: NOT met"),
        ])
    mrows = market_rows([n for n in names if n not in graph_names], args, raw)
    if rows:
        header = ["case", "size", "arcs", "3-cycles", "ours time", "ours phases (s)",
                  "ours obj", "ours status", "ours peak MB", "kep_solver time", "kep obj*",
                  "greedy obj", "kep/ours time", "ours/greedy obj", "target"]
        print()
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for row in rows:
            print("| " + " | ".join(row + [""] * (len(header) - len(row))) + " |")
        print("\n* kep_solver's transplant count minus its number of chains "
              "(it also counts each chain's final donation).")
    if mrows:
        print()
        print("| " + " | ".join(MARKET_HEADER) + " |")
        print("|" + "---|" * len(MARKET_HEADER))
        for row in mrows:
            print("| " + " | ".join(row + [""] * (len(MARKET_HEADER) - len(row))) + " |")
    load = os.getloadavg()
    print(f"load average at end: {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(raw, indent=1))
    assert not failures, "optimum differs from kep_solver: " + "; ".join(failures)
    if rows:
        print("same optimum as kep_solver wherever both finished: yes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
