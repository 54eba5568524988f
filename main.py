"""NodeTorch: `python main.py [FILE]` opens the editor; `python main.py COMMAND ...` runs the CLI."""
from __future__ import annotations

import difflib
import sys

from cli.main import COMMANDS, run
from graph.templates import resolve_graph_path


def main(argv: list[str]) -> int:
    if argv and (argv[0] in COMMANDS or argv[0].startswith("-")):
        return run(argv)
    if argv and not resolve_graph_path(argv[0]).exists():
        close = difflib.get_close_matches(argv[0], COMMANDS, n=1)
        guess = f"; did you mean {close[0]!r}?" if close else ""
        print(f"error: {argv[0]!r} is neither a command nor a graph file{guess} "
              "(see `python main.py --help`)", file=sys.stderr)
        return 2
    from gui.app import run as run_editor

    return run_editor(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
