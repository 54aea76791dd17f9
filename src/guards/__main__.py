"""Command line: ``python -m guards demo``."""

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
    commands.add_parser("demo", help="build guards, show the generated check and explain a miss")
    args = parser.parse_args(argv)
    if args.command == "demo":
        from guards import demo

        demo.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
