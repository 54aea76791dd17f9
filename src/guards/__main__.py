"""Command line: ``python -m guards demo``."""

from __future__ import annotations

import argparse
import sys

import guards


def main(argv: list[str] | None = None) -> int:
    """Run the command named on the command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m guards", description=guards.__doc__)
    parser.add_argument("--version", action="version", version=f"guards {guards.__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    demo_parser = commands.add_parser(
        "demo", help="build guards, show the generated check and explain a miss"
    )
    demo_parser.add_argument(
        "--show-code", action="store_true",
        help="print the whole generated check, not only its first block",
    )
    args = parser.parse_args(argv)
    if args.command == "demo":
        from guards import demo

        demo.run(show_code=args.show_code)
    return 0


if __name__ == "__main__":
    sys.exit(main())
