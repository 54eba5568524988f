"""TorchScript: torch.jit.script of the compiled GraphModule when it scripts and gives the
same outputs, else torch.jit.trace with an example batch built from the Input nodes.
The module is saved to memory and the bytes written by Staging: torch.jit.save to a file
aborts the process when the disk fills."""
from __future__ import annotations

import torch

from runtime.export.common import (CHECK_BATCH, EXAMPLE_BATCH, Comparison, Context,
                                   ExportError, ExportResult, Staging, compare, disk_full_in,
                                   example_inputs, quiet, run_model)
from runtime.messages import first_line

ATOL = RTOL = 1e-5


def export_torchscript(ctx: Context) -> ExportResult:
    out = ctx.target("model.torchscript.pt")
    module = ctx.module
    example = example_inputs(ctx.doc, ctx.compiled, EXAMPLE_BATCH, seed=0)
    fresh = example_inputs(ctx.doc, ctx.compiled, CHECK_BATCH, seed=1)
    expected = run_model(module, fresh)
    names = ctx.compiled.program.output_names
    failures: list[str] = []
    with Staging(out.parent) as stage:
        staged = stage.path(out)
        for how in ("scripted", "traced"):
            try:
                with quiet():
                    if how == "scripted":
                        captured = torch.jit.script(module)
                    else:
                        # The check below (a fresh batch of another size) is stricter than
                        # trace's own sanity check, which trips on attention's fast path.
                        captured = torch.jit.trace(module, example, check_trace=False)
                    stage.jit_save(out, captured)
                    loaded = torch.jit.load(str(staged), map_location="cpu")
                    loaded.eval()
                    got = run_model(loaded, fresh)
            except Exception as exc:
                full = disk_full_in(exc, out.parent)
                if full is not None:   # no other way of capturing would fit either
                    raise full from None
                failures.append(f"{how[:-1]}ing failed: {first_line(exc)}")
                continue
            result: Comparison = compare(got, expected, ATOL, RTOL, names)
            if not result.ok:
                failures.append(f"the {how} model gives other outputs ({result.problem})")
                continue
            files = stage.commit([out])
            detail = "TorchScript, " + ("scripted" if how == "scripted" else
                                        f"traced on a batch of {EXAMPLE_BATCH}")
            notes = []
            if how == "traced":
                notes.append("the model was traced: any Python-side checks in it ran once "
                             "at export and are not part of the TorchScript file")
            return ExportResult("torchscript", files, detail,
                                f"torch.jit.load matches torch on a batch of {CHECK_BATCH}, "
                                f"{result.words()}", result.max_abs_diff, notes)
    raise ExportError("cannot export to TorchScript: " + "; ".join(failures) +
                      ". Export as onnx or python instead")
