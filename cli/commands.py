"""The subcommands. Each returns an exit code: 0 fine, 1 the graph has problems,
2 the file could not be read."""
from __future__ import annotations

import json
from pathlib import Path

from cli.common import (EXIT_OK, EXIT_PROBLEMS, CommandFailed, fmt_count, open_document,
                        print_diagnostics, shown_path)
from graph.fileformat import format_json, write_atomic
from graph.templates import list_templates
from graph.text import printable
from runtime.check import check_document
from runtime.summary import summarize


def cmd_validate(args) -> int:
    doc, path = open_document(args.file)
    result = check_document(doc)
    print_diagnostics(doc, result.diagnostics)
    if result.errors:
        n = len(result.errors)
        print(f"{shown_path(path)}: {n} problem{'s' if n != 1 else ''}")
        return EXIT_PROBLEMS
    total = result.shapes.total_params
    print(f"OK: {shown_path(path)} — {len(doc.graph)} nodes, {fmt_count(total)} parameters")
    return EXIT_OK


def _checked(doc, path: Path, refusal: str):
    """The check result, or None after printing the errors and why the command stops."""
    result = check_document(doc)
    if not result.errors:
        return result
    print_diagnostics(doc, result.errors)
    print(f"{shown_path(path)}: {refusal}")
    return None


def cmd_summary(args) -> int:
    doc, path = open_document(args.file)
    result = _checked(doc, path, "cannot summarise a graph with problems")
    if result is None:
        return EXIT_PROBLEMS
    summary = summarize(doc, result.shapes)
    if args.json:
        print(format_json(summary.to_json()))
    else:
        # Ids and names come from the file: each line escaped, the layout kept.
        table = summary.table(doc.name or path.stem)
        print("\n".join(printable(line, 10_000) for line in table.splitlines()))
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


def cmd_nodes(args) -> int:
    from graph.catalog import CATEGORIES, SPECS

    if args.json:
        print(format_json([{
            "type": spec.type, "category": spec.category, "doc": spec.doc,
            "params": [{"name": p.name, "kind": p.kind, "default": p.default, "doc": p.doc}
                       for p in spec.params],
            "inferred": sorted(spec.inferred)} for spec in SPECS.values()]))
        return EXIT_OK
    width = max(len(t) for t in SPECS)
    for category in CATEGORIES:
        print(category)
        for spec in SPECS.values():
            if spec.category == category:
                print(f"  {spec.type.ljust(width)}  {spec.doc}")
    return EXIT_OK


def cmd_export_code(args) -> int:
    from runtime.codegen import CodeExportError, export_code
    from runtime.lower import lower

    doc, path = open_document(args.file)
    result = _checked(doc, path, "fix these problems before exporting")
    if result is None:
        return EXIT_PROBLEMS
    # The code needs only the lowered Program: building the module would allocate every
    # weight, which for a huge (but valid) graph fails with a torch traceback or OOMs.
    program = lower(doc, result.shapes)
    out = Path(args.out)
    try:
        code = export_code(program, source=path.name)
    except CodeExportError as exc:
        raise CommandFailed(f"error: {shown_path(path)}: {exc}", EXIT_PROBLEMS) from None
    try:
        write_atomic(out, code)
    except OSError as exc:
        raise CommandFailed(f"error: cannot write {shown_path(out)}: {exc.strerror or exc}",
                            2) from None
    params = result.shapes.total_params
    print(f"wrote {shown_path(out)} (class {program.class_name}, {fmt_count(params)} parameters)")
    return EXIT_OK
