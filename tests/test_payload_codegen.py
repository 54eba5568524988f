"""Files are data, and so are file names: text from the user's files never runs as code.

Names that try to close the generated docstring or string literals (and run a command that
creates a marker file) are planted in the graph file's name, the document's name and
description, node labels, block names, the run folder and the output path. Every generated
.py must compile, must not create the marker when imported in a fresh `python -I`, and must
still reproduce the compiled model bit for bit.
"""
from __future__ import annotations

import ast
import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import main as entry
from graph.document import Document
from graph.fileformat import dumps
from graph.loader import load_file as load_graph
from graph.loader import loads
from graph.model import Graph
from graph.templates import find_template
from runtime.codegen import CodeExportError, _docstring, _string_literal, export_code
from runtime.compile import compile_document
from runtime.export import resolve_weights
from runtime.lower import Program, Step
from tests.graph_builders import chain

ROOT = Path(__file__).resolve().parent.parent
# The command each planted name tries to run: create the file named by $NT_MARK (a file
# name cannot hold "/", so the path comes from the environment, which `python -I` keeps).
COMMAND = 'open(__import__("os").environ["NT_MARK"],"w")'
PLANTED = [
    f'x"""+str({COMMAND})+"""y',
    f"x'''+str({COMMAND})+'''y",
    f'x\\"""+str({COMMAND})+\\"""y',              # a backslash before the quotes
    f'x"""\n{COMMAND}\n"""y',                       # line breaks
    f'x"""\r{COMMAND}\r"""y',
    f'x"""\u2028{COMMAND}\u2029"""y',               # Unicode line and paragraph separators
    f'x\\N{{ \\u12 \\x"""+str({COMMAND})+"""',      # broken escapes, ending on the quotes
    f'"""+str({COMMAND})+"""',
    f'x\udcff"""+str({COMMAND})+"""\udc80y',         # not UTF-8 (how Linux hands such names)
    f'x\ud800"""+str({COMMAND})+"""\udfffy',         # lone surrogates no file system holds
    f'x\x00\x1b[31m\u202e"""+str({COMMAND})+"""\x7f"',   # NUL, ESC, RTL override, DEL
]


def _file_name_ok(name: str) -> bool:
    try:
        os.fsencode(name)
    except UnicodeEncodeError:
        return False
    return "\x00" not in name and "/" not in name


FILE_NAMES = [p for p in PLANTED if _file_name_ok(p)]

# One fresh interpreter imports every generated file (a planted command would run then),
# loads its weights and saves its outputs for the given inputs.
FRESH_RUN = """
import importlib.util, json, sys, torch
torch.set_num_threads(int(sys.argv[2]))  # as many as the model runs with: same sums, same bits
for n, job in enumerate(json.load(open(sys.argv[1]))):
    spec = importlib.util.spec_from_file_location(f"exported_{n}", job["py"])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = getattr(module, job["cls"])()
    model.load_state_dict(torch.load(job["weights"], weights_only=True))
    model.eval()
    with torch.no_grad():
        out = model(*torch.load(job["inputs"], weights_only=True))
    torch.save(out if isinstance(out, tuple) else (out,), job["outputs"])
"""


@pytest.fixture
def marker(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "MARKER"
    monkeypatch.setenv("NT_MARK", str(path))
    return path


def cli(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = entry.main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def perturbed(doc: Document, seed: int = 1) -> torch.nn.Module:
    model = compile_document(doc, seed=0).module
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.2 * torch.randn(p.shape, generator=gen))
    return model.eval()


def run_fresh(tmp_path: Path, files: list[tuple[Path, str, torch.nn.Module]],
              inputs: tuple[torch.Tensor, ...]) -> None:
    """Import each (file, class, model) in one fresh interpreter and assert its outputs are
    bit-identical to the model's."""
    torch.save(inputs, tmp_path / "inputs.pt")
    jobs = []
    for n, (py, cls, model) in enumerate(files):
        torch.save(model.state_dict(), tmp_path / f"weights-{n}.pt")
        jobs.append({"py": str(py), "cls": cls, "weights": str(tmp_path / f"weights-{n}.pt"),
                     "inputs": str(tmp_path / "inputs.pt"),
                     "outputs": str(tmp_path / f"outputs-{n}.pt")})
    (tmp_path / "jobs.json").write_text(json.dumps(jobs), encoding="utf-8")
    work = tmp_path / "cwd"
    work.mkdir(exist_ok=True)
    run = subprocess.run([sys.executable, "-I", "-c", FRESH_RUN, str(tmp_path / "jobs.json"),
                          str(torch.get_num_threads())],
                         cwd=work, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    for n, (_, _, model) in enumerate(files):
        got = torch.load(tmp_path / f"outputs-{n}.pt", weights_only=True)
        with torch.no_grad():
            expected = model(*inputs)
        expected = expected if isinstance(expected, tuple) else (expected,)
        assert len(got) == len(expected)
        for a, b in zip(got, expected):
            assert torch.equal(a, b)


def hostile_document(name: str) -> Document:
    """Input → Linear (labelled `name`) → Block `name` (ReLU, labelled `name`) → Output, in a
    document named `name` and described by it."""
    doc = Document(name=name, description=name)
    block = doc.add_block(name, Graph())
    inner = chain(block, ("Input", {"shape": [6]}), "ReLU", "Output")
    block.nodes[inner[1]].label = name
    ids = chain(doc.graph, ("Input", {"shape": [4]}), ("Linear", {"out_features": 6}),
                ("Block", {"block": name}), ("Output", {"name": "scores"}))
    doc.graph.nodes[ids[1]].label = name
    doc.graph.nodes[ids[2]].label = name + "2"
    return doc


# --- the escaping itself --------------------------------------------------------------------

any_text = st.text(st.characters(codec=None, min_codepoint=0, max_codepoint=0x10FFFF,
                                 exclude_categories=()), max_size=40)


@settings(max_examples=300, deadline=None)
@given(any_text, st.lists(any_text, max_size=4))
def test_a_literal_and_a_docstring_read_back_exactly_whatever_the_text(text, lines):
    literal = _string_literal(text)
    assert ast.literal_eval(literal) == text
    doc = _docstring(lines + [text])
    assert ast.literal_eval(doc) == "\n".join(lines + [text])
    # One expression statement, nothing else: the text cannot end the string early.
    tree = ast.parse(doc + "\n")
    assert len(tree.body) == 1 and isinstance(tree.body[0].value, ast.Constant)
    doc.encode("utf-8")          # what the exporters write: never a lone surrogate
    assert "\n" not in literal and "\r" not in literal


@pytest.mark.parametrize("planted", PLANTED)
def test_every_planted_name_gives_valid_code_that_keeps_the_text_as_text(planted):
    doc = hostile_document(planted)
    program = compile_document(doc, seed=0).program
    source = export_code(program, source=planted + ".json", weights_file=planted + ".pt")
    tree = ast.parse(source)
    compile(source, "exported.py", "exec")
    source.encode("utf-8")
    docstring = ast.get_docstring(tree, clean=False)
    assert 'model.load_state_dict(torch.load(' in docstring
    literal = docstring.split("torch.load(", 1)[1].rsplit(", weights_only", 1)[0]
    assert ast.literal_eval(literal) == planted + ".pt"      # the example line is right
    # The module holds only the docstring, imports, functions and classes: nothing that runs.
    kinds = {type(node).__name__ for node in tree.body}
    assert kinds <= {"Expr", "Import", "ImportFrom", "FunctionDef", "ClassDef"}
    assert sum(isinstance(node, ast.Expr) for node in tree.body) == 1


def test_generated_files_with_planted_names_run_nothing_and_match_bit_for_bit(tmp_path, marker):
    files = []
    for n, planted in enumerate(PLANTED):
        doc = hostile_document(planted)
        model = perturbed(doc, seed=n)
        compiled = compile_document(doc, seed=0)
        py = tmp_path / f"planted_{n}.py"
        py.write_text(export_code(compiled.program, source=planted,
                                  weights_file=planted + ".pt"), encoding="utf-8")
        files.append((py, compiled.program.class_name, model))
    run_fresh(tmp_path, files, (torch.randn(3, 4, generator=torch.Generator().manual_seed(5)),))
    assert not marker.exists()


# --- through the command line ---------------------------------------------------------------

def test_export_code_with_planted_file_names_runs_nothing_and_matches(tmp_path, marker):
    files = []
    for n, planted in enumerate(FILE_NAMES):
        template = load_graph(find_template("mlp"))
        folder = tmp_path / f"case{n}"
        folder.mkdir()
        template.name = planted
        for node in template.graph:
            if node.type == "Linear":
                node.label = f"{planted}{node.label}"
        graph_file = folder / f"{planted}.json"
        graph_file.write_text(dumps(template), encoding="utf-8")
        out = folder / f"{planted}.py"
        code, stdout, stderr = cli("export-code", graph_file, "--out", out)
        assert code == 0, stderr
        assert stdout.startswith("wrote ") and " (class " in stdout and out.is_file()
        doc = load_graph(graph_file)
        files.append((out, compile_document(doc, seed=0).program.class_name, perturbed(doc, n)))
    run_fresh(tmp_path, files, (torch.randn(4, 1, 8, 8,
                                            generator=torch.Generator().manual_seed(2)),))
    assert not marker.exists()


def test_the_issue_file_name_through_a_real_cli_process(tmp_path, marker):
    graph_file = tmp_path / f'x"""+str(__import__("os").system("touch M"))+"""y.json'
    graph_file.write_text(find_template("mlp").read_text(encoding="utf-8"), encoding="utf-8")
    run = subprocess.run([sys.executable, str(ROOT / "main.py"), "export-code", str(graph_file),
                          "--out", "x.py"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr
    imported = subprocess.run([sys.executable, "-I", "-c", "import runpy; runpy.run_path('x.py')"],
                              cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert imported.returncode == 0, imported.stderr
    assert not (tmp_path / "M").exists()
    assert 'from x"\\""+str(' in (tmp_path / "x.py").read_text(encoding="utf-8")


def test_export_python_of_a_trained_run_in_a_planted_folder_runs_nothing(tmp_path, marker):
    code, out, err = cli("train", "mlp", "--epochs", "1", "--out", tmp_path / "runs", "--quiet")
    assert code == 0, err
    trained_run = Path(out.strip().splitlines()[-1])
    planted = FILE_NAMES[0]
    moved = tmp_path / planted
    trained_run.rename(moved)                  # a user renames the run folder
    target = tmp_path / "out" / f"{FILE_NAMES[3]}.py"   # and names the export file oddly
    code, out, err = cli("export", moved, "--format", "python", "--out", target)
    assert code == 0, err
    assert "bit for bit" in out and target.is_file() and target.with_suffix(".pt").is_file()
    assert not marker.exists()       # the export's own check imported the file already
    state, graph_json, _ = resolve_weights(moved)
    doc = loads(graph_json, "run")
    model = compile_document(doc, seed=0).module
    model.load_state_dict(state)
    model.eval()
    run_fresh(tmp_path, [(target, compile_document(doc, seed=0).program.class_name, model)],
              (torch.randn(5, 1, 8, 8, generator=torch.Generator().manual_seed(3)),))
    assert not marker.exists()


# --- names the code cannot spell are refused, not written broken ----------------------------

def _program(**names) -> Program:
    step = Step("n1", names.get("layer", "fc"), "module", "torch.nn:Linear",
                {names.get("key", "in_features"): 4, "out_features": 2},
                [names.get("arg", "x")], [names.get("value", "fc")])
    return Program(names.get("cls", "Net"), [names.get("arg", "x")], ["in"], [step],
                   [names.get("value", "fc")], ["out"], ["o"])


@pytest.mark.parametrize("field, bad", [
    ("cls", "None"), ("cls", "Net(nn.Module):\n    pass\nclass X"), ("layer", "fc = 1; x"),
    ("layer", "\ufb01"), ("value", "torch"), ("arg", "self"), ("key", "in_features=1, x"),
    ("value", "a b"), ("arg", "x²"),
])
def test_a_name_python_would_not_read_as_written_is_refused_with_what_it_is(field, bad):
    assert compile(export_code(_program()), "ok.py", "exec")
    with pytest.raises(CodeExportError) as caught:
        export_code(_program(**{field: bad}))
    assert "cannot be written as a Python name" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_layer_named_like_an_nn_module_attribute_is_refused():
    step = Step("n1", "training", "module", "torch.nn:Linear",
                {"in_features": 4, "out_features": 2}, ["x"], ["training"])
    with pytest.raises(CodeExportError, match="layer name 'training' \\(node n1\\) is an "
                                              "attribute every nn.Module has"):
        export_code(Program("Net", ["x"], ["in"], [step], ["training"], ["out"], ["o"]))


def test_a_label_that_names_a_copied_helper_is_refused_rather_than_shadowing_it():
    doc = Document(name="Net")
    a = chain(doc.graph, ("Input", {"shape": [4]}), ("Add", {}, "add"), "Output")
    doc.graph.connect(a[0], "out", a[1], "x2")
    program = compile_document(doc, seed=0).program
    try:
        source = export_code(program)
    except CodeExportError as exc:      # until lowering avoids helper names
        assert "'add'" in str(exc)
        return
    namespace: dict = {}
    exec(compile(source, "exported.py", "exec"), namespace)
    x = torch.randn(2, 4)
    assert torch.equal(namespace["Net"]()(x), x + x)


def test_non_finite_floats_and_odd_values_get_real_literals():
    step = Step("n1", "act", "module", "torch.nn:Hardtanh",
                {"min_val": float("-inf"), "max_val": float("inf")}, ["x"], ["act"])
    source = export_code(Program("Net", ["x"], ["in"], [step], ["act"], ["out"], ["o"]))
    namespace: dict = {}
    exec(compile(source, "exported.py", "exec"), namespace)
    x = torch.tensor([[-1e30, 0.5, 1e30]])
    assert torch.equal(namespace["Net"]()(x), x)
    bad = Step("n1", "act", "module", "torch.nn:Hardtanh", {"min_val": object()}, ["x"], ["act"])
    with pytest.raises(CodeExportError, match="type object has no Python literal"):
        export_code(Program("Net", ["x"], ["in"], [bad], ["act"], ["out"], ["o"]))


@pytest.mark.parametrize("doc_name", ["None", "F"])   # a keyword; a name ops defines
def test_export_python_never_writes_a_file_python_cannot_import(tmp_path, doc_name, marker):
    from runtime.training.checkpoint import save_weights
    doc = load_graph(find_template("mlp"))
    doc.name = doc_name
    model = perturbed(doc)
    run = tmp_path / "run"
    save_weights(run / "checkpoints" / "best" / "model.safetensors", model, dumps(doc))
    (run / "graph.json").write_text(dumps(doc), encoding="utf-8")
    target = tmp_path / "out" / "model.py"
    code, out, err = cli("export", run, "--format", "python", "--out", target)
    if code == 0:          # the name was made a usable one: the file must then work
        cls = compile_document(doc, seed=0).program.class_name
        run_fresh(tmp_path, [(target, cls, model)], (torch.randn(2, 1, 8, 8),))
    else:
        assert code == 1 and "cannot be written as Python code: class name" in err, err
        assert not target.exists() and not target.with_suffix(".pt").exists()
