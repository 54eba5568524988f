"""NodeTorch: `python main.py` opens the editor; `python main.py COMMAND ...` runs the CLI."""
from __future__ import annotations

import sys

from cli.main import COMMANDS, build_parser, run


def main(argv: list[str]) -> int:
    if argv and (argv[0] in COMMANDS or argv[0].startswith("-")):
        return run(argv)
    # The editor is the next milestone; until it lands the bare command explains the CLI.
    build_parser().print_help()
    print("\nThe graph editor is not part of this version yet; use the commands above.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
