"""The subcommands. Each returns an exit code: 0 fine, 1 the graph has problems,
2 the file could not be read."""
from __future__ import annotations

import json
from pathlib import Path

from cli.common import (EXIT_OK, EXIT_PROBLEMS, CommandFailed, fmt_count, open_document,
                        print_diagnostics)
from graph.fileformat import format_json, write_atomic
from graph.templates import list_templates
from runtime.check import check_document
from runtime.summary import summarize


def cmd_validate(args) -> int:
    doc, path = open_document(args.file)
    result = check_document(doc)
    print_diagnostics(doc, result.diagnostics)
    if result.errors:
        n = len(result.errors)
        print(f"{path}: {n} problem{'s' if n != 1 else ''}")
        return EXIT_PROBLEMS
    total = result.shapes.total_params
    print(f"OK: {path} — {len(doc.graph)} nodes, {fmt_count(total)} parameters")
    return EXIT_OK


def cmd_summary(args) -> int:
    doc, path = open_document(args.file)
    result = check_document(doc)
    if result.errors:
        print_diagnostics(doc, result.errors)
        print(f"{path}: cannot summarise a graph with problems")
        return EXIT_PROBLEMS
    summary = summarize(doc, result.shapes)
    if args.json:
        print(format_json(summary.to_json()))
    else:
        print(summary.table(doc.name or path.stem))
    return EXIT_OK


def cmd_templates(args) -> int:
    infos = list_templates()
    if args.json:
        print(json.dumps([{"key": t.key, "name": t.name, "description": t.description}
                          for t in infos], indent=2))
        return EXIT_OK
    width = max((len(t.key) for t in infos), default=0)
    for t in infos:
        print(f"{t.key.ljust(width)}  {t.name}: {t.description}")
    return EXIT_OK


def cmd_export_code(args) -> int:
    from runtime.codegen import export_code
    from runtime.compile import compile_document

    doc, path = open_document(args.file)
    result = check_document(doc)
    if result.errors:
        print_diagnostics(doc, result.errors)
        print(f"{path}: fix these problems before exporting")
        return EXIT_PROBLEMS
    compiled = compile_document(doc, check=result)
    out = Path(args.out)
    try:
        write_atomic(out, export_code(compiled.program, source=path.name))
    except OSError as exc:
        raise CommandFailed(f"error: cannot write {out}: {exc.strerror or exc}", 2) from None
    params = sum(p.numel() for p in compiled.module.parameters())
    print(f"wrote {out} (class {compiled.program.class_name}, {fmt_count(params)} parameters)")
    return EXIT_OK
