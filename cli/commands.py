"""The subcommands. Each returns an exit code: 0 fine, 1 the graph has problems,
2 the file could not be read."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from cli.common import (EXIT_BAD_FILE, EXIT_OK, EXIT_PROBLEMS, CommandFailed, fmt_count,
                        open_document, print_diagnostics, shown_path)
from graph.fileformat import format_json, write_atomic
from graph.templates import by_family, list_templates
from graph.text import as_name, printable
from runtime.check import check_document
from runtime.recipe_check import check_for_recipe
from runtime.summary import summarize


def cmd_validate(args) -> int:
    """What the training settings train is checked: the main graph, or a GAN's blocks."""
    doc, path = open_document(args.file)
    result = check_for_recipe(doc)
    print_diagnostics(doc, result.diagnostics)
    if result.errors:
        n = len(result.errors)
        print(f"{shown_path(path)}: {n} problem{'s' if n != 1 else ''}")
        return EXIT_PROBLEMS
    if result.parts:   # a GAN: the models are its blocks
        models = "; ".join(f"{p.role} {as_name(p.block)}: {len(p.doc.graph)} nodes, "
                           f"{fmt_count(p.result.shapes.total_params)} parameters"
                           for p in result.parts)
        print(f"OK: {shown_path(path)} — {models}")
        return EXIT_OK
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


def _model_of(doc, path: Path, part: str | None, refusal: str):
    """(the document that is the model, its check) for summary and export-code: the main
    graph, or for a GAN file (recipe gan) the part's block; None after printing why not."""
    from runtime.recipe_check import gan_blocks, is_gan

    if not is_gan(doc):
        if part is not None:
            raise CommandFailed(f"error: {shown_path(path)}: --part picks the generator or "
                                "discriminator of a GAN file (training.recipe gan); this file "
                                "trains one model: leave --part out", EXIT_BAD_FILE)
        result = _checked(doc, path, refusal)
        return None if result is None else (doc, result)
    result = check_for_recipe(doc)
    if result.errors:
        print_diagnostics(doc, result.errors)
        print(f"{shown_path(path)}: {refusal}")
        return None
    role = part or "generator"
    block = gan_blocks(doc)[role]
    chosen = next(p for p in result.parts if p.role == role)
    print(f"the GAN's {role}: block {as_name(block)}", file=sys.stderr)
    return chosen.doc, chosen.result


def cmd_summary(args) -> int:
    doc, path = open_document(args.file)
    model = _model_of(doc, path, getattr(args, "part", None),
                      "cannot summarise a graph with problems")
    if model is None:
        return EXIT_PROBLEMS
    doc, result = model
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
        print(json.dumps([{"key": t.key, "name": t.name, "family": t.family,
                           "description": t.description} for t in infos], indent=2))
        return EXIT_OK
    width = max((len(t.key) for t in infos), default=0)
    for i, (family, members) in enumerate(by_family(infos)):
        print(("\n" if i else "") + family)
        for t in members:
            print(f"  {t.key.ljust(width)}  {t.name}: {t.description}")
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
    model = _model_of(doc, path, getattr(args, "part", None),
                      "fix these problems before exporting")
    if model is None:
        return EXIT_PROBLEMS
    doc, result = model
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
