"""Argument parsing and dispatch for `python main.py <command> ...`."""
from __future__ import annotations

import argparse
import contextlib
import os
import sys

from cli.common import CommandFailed
from graph.gc_pause import gc_paused

# command → (module, function), imported only when that command runs
_HANDLERS = {
    "validate": ("cli.commands", "cmd_validate"),
    "summary": ("cli.commands", "cmd_summary"),
    "templates": ("cli.commands", "cmd_templates"),
    "nodes": ("cli.commands", "cmd_nodes"),
    "export-code": ("cli.commands", "cmd_export_code"),
    "train": ("cli.train_cmd", "cmd_train"),
    "export": ("cli.export_cmd", "cmd_export"),
}
COMMANDS = tuple(_HANDLERS)
READ_ONLY = ("validate", "summary", "export-code", "templates", "nodes")


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
    p.add_argument("--part", choices=("generator", "discriminator"),
                   help="for a GAN file (recipe gan): which block's model (default: generator)")
    p = sub.add_parser("templates", help="list the template architectures")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = sub.add_parser("nodes", help="list every node type by category, with what it does")
    p.add_argument("--json", action="store_true", help="print JSON, with each type's parameters")
    p = sub.add_parser("export-code", help="write a standalone PyTorch .py for the graph")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--out", required=True, metavar="PATH", help="the .py file to write")
    p.add_argument("--part", choices=("generator", "discriminator"),
                   help="for a GAN file (recipe gan): which block's model (default: generator)")
    p = sub.add_parser("train", help="train a graph on a dataset; writes a run folder")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--dataset", metavar="NAME|PATH", help="a built-in dataset or a file/folder")
    p.add_argument("--epochs", type=int, metavar="N")
    p.add_argument("--batch-size", type=int, metavar="B")
    p.add_argument("--lr", type=float, metavar="X", help="learning rate")
    p.add_argument("--device", metavar="D", help="auto (default), cpu, cuda, cuda:N or mps")
    p.add_argument("--out", metavar="DIR", help="where run folders go (default: runs/)")
    p.add_argument("--resume", metavar="CKPT", help="a checkpoint folder or run folder to resume")
    p.add_argument("--seed", type=int, metavar="S")
    p.add_argument("--quiet", action="store_true", help="no progress bar; one line per epoch")
    p = sub.add_parser("export", help="export trained weights: onnx, torchscript, safetensors, "
                                      "state_dict or python")
    p.add_argument("source", metavar="RUN_OR_WEIGHTS",
                   help="a run folder, a checkpoint folder or a .safetensors weights file")
    p.add_argument("--format", required=True,
                   choices=("onnx", "torchscript", "safetensors", "state_dict", "python"))
    p.add_argument("--out", required=True, metavar="PATH")
    p.add_argument("--part", choices=("generator", "discriminator"),
                   help="a GAN run's model to export (default: generator)")
    return parser




def run(argv: list[str]) -> int:
    import importlib

    # Whatever reaches the terminal is escaped where it comes from a file; this is the
    # last line of defence for anything that is not (an argv path with undecodable bytes).
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    # Each command's module is imported only when used: `validate` never loads the trainer.
    module_name, func = _HANDLERS[args.command]
    handler = getattr(importlib.import_module(module_name), func)
    # The commands that only read a graph make millions of small objects and no garbage
    # cycles: the cycle collector would spend a second rescanning them. Training keeps it.
    collector = gc_paused() if args.command in READ_ONLY else contextlib.nullcontext()
    try:
        with collector:
            return handler(args)
    except CommandFailed as exc:
        print(exc, file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print(f"error: {args.command} ran out of memory", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # `... | head` closed the pipe: stop quietly, and keep Python's exit flush quiet too.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
