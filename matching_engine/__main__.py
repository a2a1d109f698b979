"""Command line: ``python -m matching_engine solve FILE.json [--max-cycle L] [--max-chain K]
[--time-limit S] [--nice N]`` prints one JSON result. Bad input: a message on stderr and exit
code 2. ``--nice`` lowers the process's CPU priority first (``priority.lower``) and records
the levels reached in ``stats.priority``: the app solves background runs this way."""

from __future__ import annotations

import argparse
import json
import sys

from .api import solve
from .errors import InputError
from .priority import lower

EXIT_BAD_INPUT = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m matching_engine",
        description="Clear a market or kidney-exchange-style graph document, without a database.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    cmd = commands.add_parser("solve", help="solve FILE.json and print the result as JSON")
    cmd.add_argument("file", metavar="FILE.json", help="the document ('-' reads stdin)")
    cmd.add_argument("--max-cycle", type=int, metavar="L", help="longest cycle (2..6)")
    cmd.add_argument("--max-chain", type=int, metavar="K",
                     help="longest chain in transfers (0..10)")
    cmd.add_argument("--time-limit", type=float, metavar="S", help="seconds before returning the "
                     "best found with its bound")
    cmd.add_argument("--compact", action="store_true", help="print the JSON on one line")
    cmd.add_argument("--nice", type=int, default=0, metavar="N",
                     help="solve at CPU priority nice N (0-19), in this session's scheduling "
                     "group too when the process leads its session")
    return parser


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)  # argparse itself exits 2 with a usage message
    if not 0 <= args.nice <= 19:
        return _fail(f"--nice must be between 0 and 19, not {args.nice}")
    priority = lower(args.nice) if args.nice > 0 else None
    try:
        if args.file == "-":
            text = sys.stdin.read()
        else:
            with open(args.file, encoding="utf-8") as handle:
                text = handle.read()
    except OSError as exc:
        return _fail(f"cannot read {args.file}: {exc.strerror or exc}")
    except UnicodeDecodeError:
        return _fail(f"{args.file} is not UTF-8 text")
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except (json.JSONDecodeError, ValueError) as exc:
        return _fail(f"{args.file} is not valid JSON: {exc}")
    try:
        result = solve(document, max_cycle=args.max_cycle, max_chain=args.max_chain,
                       time_limit=args.time_limit)
    except InputError as exc:
        return _fail(str(exc))
    except RecursionError:
        return _fail("the document is nested too deeply")
    if priority is not None:
        result["stats"]["priority"] = priority
    json.dump(result, sys.stdout, indent=None if args.compact else 2)
    sys.stdout.write("\n")
    return 0


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


if __name__ == "__main__":
    sys.exit(main())
