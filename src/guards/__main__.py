"""Command line: ``python -m guards demo`` and ``python -m guards report SCRIPT``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import guards

#: What ``python -m guards --help`` says first: plain text, no markup.
DESCRIPTION = (
    "guards reuses work done before while what it read still holds, and says exactly "
    "why when it cannot. The library is used from Python (import guards); these "
    "commands show it at work."
)


def main(argv: list[str] | None = None) -> int:
    """Run the command named on the command line; returns the exit status."""
    plain: dict[str, Any] = {"color": False} if sys.version_info >= (3, 14) else {}
    parser = argparse.ArgumentParser(prog="python -m guards", description=DESCRIPTION, **plain)
    parser.add_argument("--version", action="version", version=f"guards {guards.__version__}")
    commands = parser.add_subparsers(
        dest="command", required=True, title="commands", metavar="COMMAND"
    )
    demo_parser = commands.add_parser(
        "demo", help="build guards, show the generated check and explain a miss"
    )
    demo_parser.add_argument(
        "--show-code", action="store_true",
        help="print the whole generated check, not only its first block",
    )
    report = commands.add_parser(
        "report",
        help="write an HTML report of a script's specialized functions",
        description="Run a Python script (or module) with every miss of its specialized "
        "functions explained, then write one HTML page with each function's entries, guards, "
        "hits, misses and uncached calls.",
    )
    report.add_argument("-o", "--output", default="guards-report.html",
                        help="where to write the report (default: guards-report.html)")
    report.add_argument("--function", action="append", default=[], metavar="NAME",
                        help="report only this function: its name, qualified name or "
                        "module:qualname (repeat for more); default: every one called")
    report.add_argument("script", help="the script to run, or a module name as for python -m")
    report.add_argument("args", nargs=argparse.REMAINDER, help="the script's own arguments")
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # said with the command's usage line, not the top level's
        command = demo_parser if args.command == "demo" else report
        command.error(f"unrecognized arguments: {' '.join(unknown)}")
    if args.command == "demo":
        from guards import demo

        demo.run(show_code=args.show_code)
    elif args.command == "report":
        from guards.specialization.report import report_script

        return report_script(args.script, args.args, args.output, args.function)
    return 0


if __name__ == "__main__":
    sys.exit(main())
