"""`python main.py export RUN_OR_WEIGHTS --format F --out PATH [--part P]`: write trained
weights as onnx, torchscript, safetensors, a state_dict or standalone code, and check the
result. A GAN run exports its generator, or with --part discriminator its discriminator."""
from __future__ import annotations

from pathlib import Path

from cli.common import EXIT_BAD_FILE, EXIT_OK, EXIT_PROBLEMS, CommandFailed, print_diagnostics
from graph.text import shown


def cmd_export(args) -> int:
    from runtime.compile import CompileError
    from runtime.export import ExportError, WeightsError, export_model
    from runtime.export.parts import open_export_source
    from runtime.training.durable import is_disk_full

    _clear_stale_checkpoints(Path(args.source))
    try:
        source = open_export_source(args.source, getattr(args, "part", None))
    except WeightsError as exc:
        raise CommandFailed(f"error: {exc}", EXIT_BAD_FILE) from None
    doc, state, where = source.doc, source.state, source.where
    out = Path(args.out)
    try:
        result = export_model(doc, state, args.format, args.out, source_name=source.source_name)
    except CompileError as exc:
        print_diagnostics(doc, exc.diagnostics)
        print(f"{where}: the graph has problems; fix them before exporting")
        return EXIT_PROBLEMS
    except WeightsError as exc:
        raise CommandFailed(f"error: {where}: {exc}", EXIT_BAD_FILE) from None
    except ExportError as exc:
        raise CommandFailed(f"error: {exc}", EXIT_PROBLEMS) from None
    except OSError as exc:
        target = exc.filename or out
        if is_disk_full(exc):
            raise CommandFailed(f"error: cannot write {target}: the disk is full (no space "
                                "left on device); no file was replaced or left half-written",
                                EXIT_BAD_FILE) from None
        raise CommandFailed(f"error: cannot write {target}: {exc.strerror or exc}",
                            EXIT_BAD_FILE) from None
    except Exception as exc:  # a bug or an exotic torch failure: one line, not a traceback
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise CommandFailed(f"error: {args.format} export failed: {type(exc).__name__}"
                            f"{': ' + detail if detail else ''}", EXIT_PROBLEMS) from None
    print(f"weights: {where}")
    if source.part is not None:
        print(f"part: the GAN's {source.part} (block {shown(source.block)}); "
              f"--part {'discriminator' if source.part == 'generator' else 'generator'} "
              "exports the other")
    print(result.summary())
    for note in result.notes:
        print(f"note: {note}")
    return EXIT_OK


def _clear_stale_checkpoints(source: Path) -> None:
    """What a killed training run left half-written in the run folder goes before the
    weights are picked (only leftovers whose writer is gone: a run may still be writing)."""
    from runtime.training.commit import clear_stale

    for checkpoints in (source / "checkpoints", source):
        if checkpoints.name == "checkpoints" and checkpoints.is_dir():
            try:
                for done in clear_stale(checkpoints):
                    print(f"note: {checkpoints}: {done} (left by a run that ended early)")
            except OSError:
                pass   # read-only or shared: picking still skips what is not committed
            return
