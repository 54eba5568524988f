"""What every export format shares: errors, the result, staging files so that nothing half
written is ever left behind, example inputs built from the Input nodes, output comparison."""
from __future__ import annotations

import contextlib
import errno
import io
import logging
import math
import os
import shutil
import tempfile
import warnings
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import torch
from torch import fx

from graph.atomic_file import fsync_folder
from graph.document import Document
from runtime.compile import Compiled
from runtime.targets import torch_dtype
from runtime.training.durable import free_bytes, is_disk_full, umask, write_bytes

EXAMPLE_BATCH = 2   # what tracing and ONNX export see
CHECK_BATCH = 5     # the fresh batch the written file is checked on: not the export batch
DEFAULT_ID_LIMIT = 10  # int64 inputs that feed no Embedding get ids below this


class ExportError(Exception):
    """The model could not be exported in this format, or the written file failed its check.
    The message is one line meant for the user and suggests what to do instead."""


class WeightsError(ExportError):
    """The weights cannot be used: missing, unreadable, without a graph, or not this graph's."""


@dataclass
class ExportResult:
    format: str
    files: list[Path]              # everything written, main file first
    details: str                   # what the file is, e.g. "ONNX opset 20, dynamic batch axis"
    check: str                     # the check it passed, in words
    max_abs_diff: float | None = None
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        names = " and ".join(str(p) for p in self.files)
        return f"wrote {names} ({self.details}; {self.check})"


@dataclass
class Context:
    """What an exporter gets: the compiled model with the weights loaded, in eval mode."""
    doc: Document
    compiled: Compiled
    out: Path
    source_name: str = ""
    out_is_folder: bool = False   # --out named a folder (it exists, or ends with a slash)

    def target(self, default_name: str) -> Path:
        """--out as given, or default_name inside it when it names a folder."""
        if self.out_is_folder or self.out.is_dir():
            return self.out / default_name
        return self.out

    @property
    def module(self) -> fx.GraphModule:
        return self.compiled.module


# --- writing ----------------------------------------------------------------------------------

class Staging:
    """Files are written into a hidden temporary folder next to their destination, checked
    there, and only then renamed into place. On any failure the folder is removed, so an
    export either writes complete, verified files or nothing at all, and a file that was
    at the destination stays as it was.

    Writers serialise into memory and `write` puts the bytes on disk: on a full disk that
    is an OSError (ENOSPC) naming the destination, where torch.save says "unexpected pos"
    and torch.jit.save aborts the process."""

    def __init__(self, destination_folder: Path) -> None:
        self.folder = destination_folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=".nodetorch-export-", dir=self.folder))

    def path(self, final: Path) -> Path:
        return self.tmp / final.name

    def write(self, final: Path, data: bytes | memoryview) -> Path:
        """Stage `data` for `final`; an OSError names `final`, the file the user asked for."""
        staged = self.path(final)
        try:
            return write_bytes(staged, data)
        except OSError as exc:
            raise OSError(exc.errno, exc.strerror, str(final)) from None

    def torch_save(self, final: Path, obj) -> Path:
        buffer = io.BytesIO()
        torch.save(obj, buffer)
        return self.write(final, buffer.getbuffer())

    def jit_save(self, final: Path, module: torch.jit.ScriptModule) -> Path:
        buffer = io.BytesIO()
        torch.jit.save(module, buffer)
        return self.write(final, buffer.getbuffer())

    def commit(self, finals: list[Path]) -> list[Path]:
        """Move every staged file into place (the named ones first, in order, then any the
        writer added, such as ONNX external data). Returns the final paths."""
        by_name = {p.name: p for p in finals}
        order = {p.name: i for i, p in enumerate(finals)}
        staged = sorted(self.tmp.iterdir(), key=lambda p: (order.get(p.name, len(order)), p.name))
        moved = []
        for src in staged:
            if not src.is_file():
                continue
            with open(src, "rb") as f:
                os.fsync(f.fileno())
            os.chmod(src, 0o666 & ~umask())  # some writers (safetensors) create 0600 files
            dst = by_name.get(src.name, self.folder / src.name)
            os.replace(src, dst)
            moved.append(dst)
        fsync_folder(self.folder)
        return moved

    def cleanup(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self) -> "Staging":
        return self

    def __exit__(self, kind, exc, tb) -> None:
        # Before clean-up, which frees what the failed write had taken.
        full = disk_full_in(exc, self.folder) if exc is not None else None
        self.cleanup()
        if full is not None and full is not exc:
            raise full from None


# torch's zip writer on a failed write: "[enforce fail at inline_container.cc:672] .
# unexpected pos 768 vs 726" or "PytorchStreamWriter failed writing file"
TORCH_WRITE_FAILED = ("unexpected pos", "PytorchStreamWriter failed", "file write failed")
LOW_SPACE_BYTES = 1 << 20


def disk_full_in(exc: BaseException, folder: Path) -> OSError | None:
    """The disk-full OSError behind `exc` (itself, a cause, or a writer's own words for it
    when `folder` has next to no space left), naming what could not be written; else None."""
    seen, depth = exc, 0
    while seen is not None and depth < 16:
        if is_disk_full(seen):
            return seen if seen.filename else OSError(seen.errno, seen.strerror, str(folder))
        text = str(seen)
        if "os error 28" in text or "No space left on device" in text or (
                any(words in text for words in TORCH_WRITE_FAILED) and _nearly_full(folder)):
            return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(folder))
        seen, depth = seen.__cause__ or seen.__context__, depth + 1
    return None


def _nearly_full(folder: Path) -> bool:
    free = free_bytes(folder)
    return free is not None and free < LOW_SPACE_BYTES


@contextlib.contextmanager
def quiet() -> Iterator[io.StringIO]:
    """Swallow what torch's exporters print and warn (progress lines, tracer warnings,
    'torchvision is not installed') so the CLI shows only its own lines."""
    sink = io.StringIO()
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(sink), \
                contextlib.redirect_stderr(sink):
            warnings.simplefilter("ignore")
            yield sink
    finally:
        logging.disable(previous)


# --- inputs and outputs -----------------------------------------------------------------------

def example_inputs(doc: Document, compiled: Compiled, batch: int,
                   seed: int) -> tuple[torch.Tensor, ...]:
    """One random tensor per forward() argument, from the Input nodes' shape and dtype.
    int64 inputs get ids in a range every Embedding they reach accepts."""
    gen = torch.Generator().manual_seed(seed)
    tensors = []
    for node_id in compiled.program.input_nodes:
        params = doc.graph.nodes[node_id].params
        shape = (batch, *params["shape"])
        dtype = torch_dtype(params.get("dtype", "float32"))
        if dtype.is_floating_point:
            tensors.append(torch.randn(shape, generator=gen, dtype=dtype))
        else:
            limit = id_limit(doc, node_id)
            tensors.append(torch.randint(0, limit, shape, generator=gen, dtype=dtype))
    return tuple(tensors)


def id_limit(doc: Document, input_id: str) -> int:
    """The smallest num_embeddings of the Embeddings an int64 Input feeds (looking inside
    blocks on the way), or DEFAULT_ID_LIMIT when it feeds none."""
    limits: list[int] = []

    def embeddings_in(block_name: str, seen: set[str]) -> None:
        if block_name in seen or block_name not in doc.blocks:
            return
        seen.add(block_name)
        for node in doc.blocks[block_name]:
            if node.type == "Embedding":
                limits.append(int(node.params.get("num_embeddings", DEFAULT_ID_LIMIT)))
            elif node.type == "Block":
                embeddings_in(node.params.get("block", ""), seen)

    graph = doc.graph
    downstream: dict[str, list[str]] = {}
    for e in graph.edges:
        downstream.setdefault(e.src, []).append(e.dst)
    queue, visited = deque([input_id]), {input_id}
    while queue:
        current = queue.popleft()
        for nxt in downstream.get(current, []):
            if nxt in visited:
                continue
            visited.add(nxt)
            node = graph.nodes[nxt]
            if node.type == "Embedding":
                limits.append(int(node.params.get("num_embeddings", DEFAULT_ID_LIMIT)))
                continue  # its output is float: ids stop here
            if node.type == "Block":
                embeddings_in(node.params.get("block", ""), set())
            queue.append(nxt)
    return max(1, min(limits)) if limits else DEFAULT_ID_LIMIT


def run_model(module: torch.nn.Module,
              inputs: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
    with torch.no_grad():
        out = module(*inputs)
    return out if isinstance(out, tuple) else (out,)


@dataclass
class Comparison:
    ok: bool
    exact: bool
    max_abs_diff: float
    worst: int          # index of the output with the largest difference
    problem: str = ""   # why not ok, in words

    def words(self) -> str:
        return "outputs identical" if self.exact else f"max abs diff {self.max_abs_diff:.1e}"


def compare(got, expected, atol: float = 0.0, rtol: float = 0.0,
            names: list[str] | None = None) -> Comparison:
    """Outputs side by side: floats within atol + rtol·|expected| (0, 0: bit for bit);
    integer and bool outputs must be equal."""
    names = names or [f"#{i + 1}" for i in range(len(expected))]
    if len(got) != len(expected):
        return Comparison(False, False, math.inf, 0,
                          f"{len(got)} outputs instead of {len(expected)}")
    worst, worst_i, exact = 0.0, 0, True
    for i, (a, b) in enumerate(zip(got, expected)):
        a = torch.as_tensor(a)
        if tuple(a.shape) != tuple(b.shape):
            return Comparison(False, False, math.inf, i, f"output '{names[i]}' has shape "
                              f"{tuple(a.shape)} instead of {tuple(b.shape)}")
        if torch.equal(a.to(b.dtype), b):
            continue
        exact = False
        if not b.dtype.is_floating_point:
            return Comparison(False, False, math.inf, i, f"output '{names[i]}' differs")
        a64, b64 = a.double(), b.double()
        both_nan = torch.isnan(a64) & torch.isnan(b64)
        diff = (a64 - b64).abs().masked_fill(both_nan, 0.0)
        if torch.isnan(diff).any():
            return Comparison(False, False, math.inf, i, f"output '{names[i]}' has NaN where "
                              "the other has a number")
        d = float(diff.max()) if diff.numel() else 0.0
        if d > worst:
            worst, worst_i = d, i
        if bool((diff > atol + rtol * b64.abs()).any()):
            return Comparison(False, False, d, i, f"output '{names[i]}' differs by up to {d:.2e}")
    return Comparison(True, exact, worst, worst_i)


def describe_step(doc: Document, compiled: Compiled, path: str) -> str | None:
    """'block_1.pool' (a module path in the compiled model) → "node 'pool' (AdaptiveMaxPool2d)
    in block Pooler", or None when the path names no node."""
    program, graph, block = compiled.program, doc.graph, None
    parts = [p for p in path.split(".") if p]
    found, copies = None, []
    for part in parts:
        if part.isdigit() and len(copies) > 1:
            program = copies[min(int(part), len(copies) - 1)]  # layer1.0: a repeat's copy
            continue
        step = next((s for s in program.steps if s.name == part), None)
        if step is None:
            break
        node = graph.nodes.get(step.node_id)
        found = (node, block)
        if step.kind != "block" or step.block is None:
            break
        program, block, copies = step.block, step.target, step.copies
        graph = doc.blocks.get(block, graph)
    if found is None or found[0] is None:
        return None
    node, block = found
    name = node.label or node.id
    return f"node '{name}' ({node.type})" + (f" in block {block}" if block else "")
