"""Matching benchmark: our engine vs kep_solver (the peer) vs a greedy baseline, in one run.

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
    "market-50": {"kind": "market", "orgs": 50, "L": 3, "K": 3},
    "market-100": {"kind": "market", "orgs": 100, "L": 3, "K": 2},
    "market-200": {"kind": "market", "orgs": 200, "L": 3, "K": 0},
    "national-300": {"kind": "market", "orgs": 300, "L": 3, "K": 3, "generator": "national"},
    "national-1000": {"kind": "market", "orgs": 1000, "L": 3, "K": 3, "generator": "national"},
}
QUICK = ["saidman-250", "saidman-330+10%g-K3", "saidman-1000", "market-50"]
SEED = 1
#: Markets are run with this time limit (the app's default is 30 s): past it, the result is the
#: best found with its proven bound.
MARKET_TIME_LIMIT = 60.0


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


def worker_market(name: str, time_limit: float) -> dict:
    import numpy as np

    from matching_engine import packing, solve
    from matching_engine.exchanges import enumerate_candidates
    from matching_engine.market import build_arcs, parse_market
    from matching_engine.market_solver import _columns
    from matching_engine.packing import greedy_packing

    case = CASES[name]
    make = national_market if case.get("generator") == "national" else realistic_market
    doc = make(case["orgs"], SEED, max_cycle=case["L"], max_chain=case["K"])
    limit = min(time_limit, MARKET_TIME_LIMIT)
    started = time.perf_counter()
    result = solve(doc, time_limit=limit)
    wall = time.perf_counter() - started
    # The same solve without the LP-guided start, for the side-by-side ratio.
    guided_from = packing.LP_GUIDED_MIN_COLUMNS
    packing.LP_GUIDED_MIN_COLUMNS = 10**12
    p0 = time.perf_counter()
    plain = solve(doc, time_limit=limit)
    plain_wall = time.perf_counter() - p0
    packing.LP_GUIDED_MIN_COLUMNS = guided_from
    g0 = time.perf_counter()
    market = parse_market(doc)
    arcs = build_arcs(market)
    cands = enumerate_candidates(market, arcs, case["L"], case["K"], time.monotonic() + 600)
    cols = _columns(market, arcs, cands)
    # Greedy: most needs first, then most value.
    score = cols["needs"] + cols["value"] / (1.0 + cols["value"].max(initial=0.0))
    chosen = greedy_packing(cols["usage"].tocsr(), cols["capacity"], score)
    greedy_value = float(np.sum(cols["needs"][chosen]))
    greedy_time = time.perf_counter() - g0
    stats = result["stats"]
    return {"objective": result["objective"], "bound": result["bound"],
            "status": result["status"], "wall": wall, "phases": stats["phases"],
            "peak_mb": stats["peak_memory_mb"], "method": stats.get("method"),
            "columns": stats.get("candidate_exchanges"), "arcs": stats["arcs"],
            "pairs": stats["nodes"], "gifts": 0, "listings": stats["listings"],
            "three_cycles": None, "greedy": greedy_value, "greedy_time": greedy_time,
            "guided": len(cols["paths"]) >= guided_from,
            "plain": {"objective": plain["objective"], "bound": plain["bound"],
                      "status": plain["status"], "wall": plain_wall}}


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK)}")
    parser.add_argument("--only", nargs="*", help="case names (see --list)")
    parser.add_argument("--list", action="store_true")
    parser.add_argument("--no-peer", action="store_true", help="skip kep_solver")
    parser.add_argument("--peer-timeout", type=float, default=300.0)
    parser.add_argument("--peer-memory-gb", type=float, default=8.0)
    parser.add_argument("--time-limit", type=float, default=300.0, help="our time limit")
    parser.add_argument("--json", type=Path, help="also write the raw measurements here")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        role, name = args.worker[0], args.worker[1]
        if role == "ours":
            kind = CASES[name]["kind"]
            fn = worker_market if kind == "market" else worker_ours
            print(json.dumps(fn(name, float(args.worker[2]))))
        else:
            print(json.dumps(worker_peer(name)))
        return 0
    if args.list:
        for name, case in CASES.items():
            print(name, case)
        return 0

    names = args.only or (QUICK if args.quick else list(CASES))
    load = os.getloadavg()
    print(f"# matching benchmark — {time.strftime('%Y-%m-%d %H:%M')} — {os.cpu_count()} CPUs, "
          f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at start")
    rows, raw, failures, market_rows = [], {}, [], []
    for name in names:
        case = CASES[name]
        print(f"## {name} ...", flush=True)
        ours = run_worker(["ours", name, str(args.time_limit)], args.time_limit + 600)
        peer = None
        if case["kind"] != "market" and not args.no_peer:
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
        if case["kind"] == "market":
            size = f"{ours['pairs']} orgs / {ours['listings']} listings"
            plain = ours["plain"]
            market_rows.append([
                name, size, fmt(ours["columns"]), "yes" if ours["guided"] else "no (small)",
                f"{fmt(ours['objective'], 0)} / {ours['bound']:.0f} ({ours['wall']:.1f} s)",
                f"{fmt(plain['objective'], 0)} / {plain['bound']:.0f} ({plain['wall']:.1f} s)",
                f"{ours['objective'] / plain['objective']:.3f}" if plain["objective"] else "—",
            ])
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
    header = ["case", "size", "arcs", "3-cycles", "ours time", "ours phases (s)", "ours obj",
              "ours status", "ours peak MB", "kep_solver time", "kep obj*", "greedy obj",
              "kep/ours time", "ours/greedy obj", "target"]
    print()
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row + [""] * (len(header) - len(row))) + " |")
    print("\n* kep_solver's transplant count minus its number of chains "
          "(it also counts each chain's final donation).")
    if market_rows:
        header = ["market", "size", "candidates", "LP-guided start", "with it: obj / bound (time)",
                  "without: obj / bound (time)", "with/without obj"]
        print()
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for row in market_rows:
            print("| " + " | ".join(row) + " |")
    load = os.getloadavg()
    print(f"load average at end: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(raw, indent=1))
    assert not failures, "optimum differs from kep_solver: " + "; ".join(failures)
    print("same optimum as kep_solver wherever both finished: yes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
