"""NodeTorch: `python main.py [FILE]` opens the editor; `python main.py COMMAND ...` runs the CLI."""
from __future__ import annotations

import difflib
import os
import sys

from cli.main import COMMANDS, READ_ONLY, run
from graph.templates import path_exists, resolve_graph_path
from graph.text import shown



def main(argv: list[str]) -> int:
    if argv and (argv[0] in COMMANDS or argv[0].startswith("-")):
        return run(argv)
    if argv and not path_exists(resolve_graph_path(argv[0])):
        close = difflib.get_close_matches(argv[0][:100], COMMANDS, n=1)
        guess = f"; did you mean {close[0]!r}?" if close else ""
        print(f"error: {shown(argv[0], 300)} is neither a command nor a graph file{guess} "
              "(see `python main.py --help`)", file=sys.stderr)
        return 2
    from gui.app import run as run_editor

    return run_editor(argv)


if __name__ == "__main__":
    code = main(sys.argv[1:])
    # Commands that only read have written all they write once they return: they end
    # without Python's teardown, which frees a checked 100,000-node graph object by object.
    if sys.argv[1:2] and sys.argv[1] in READ_ONLY:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BrokenPipeError:
            pass
        os._exit(code)
    sys.exit(code)
