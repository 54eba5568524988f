"""Argument parsing and dispatch for `python main.py <command> ...`."""
from __future__ import annotations

import argparse
import os
import sys

from cli.common import CommandFailed

COMMANDS = ("validate", "summary", "templates", "nodes", "export-code")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python main.py",
        description="NodeTorch: draw, check, compile and export neural networks. "
                    "With no command, opens the editor. FILE may be a path or a template name.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p = sub.add_parser("validate", help="check a graph: structure and every tensor shape")
    p.add_argument("file", metavar="FILE")
    p = sub.add_parser("summary", help="layers, output shapes and parameter counts")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p = sub.add_parser("templates", help="list the template architectures")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = sub.add_parser("nodes", help="list every node type by category, with what it does")
    p.add_argument("--json", action="store_true", help="print JSON, with each type's parameters")
    p = sub.add_parser("export-code", help="write a standalone PyTorch .py for the graph")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--out", required=True, metavar="PATH", help="the .py file to write")
    return parser


def run(argv: list[str]) -> int:
    from cli import commands

    parser = build_parser()
    args = parser.parse_args(argv)
    handlers = {"validate": commands.cmd_validate, "summary": commands.cmd_summary,
                "templates": commands.cmd_templates, "nodes": commands.cmd_nodes, "export-code": commands.cmd_export_code}
    try:
        return handlers[args.command](args)
    except CommandFailed as exc:
        print(exc, file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `... | head` closed the pipe: stop quietly, and keep Python's exit flush quiet too.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
