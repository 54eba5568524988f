"""The command line on good files: validate, summary, templates, export-code, help.

Most tests call the entry point in-process (`main.main([...])`, as `python main.py` does);
the exported code and the help run in real interpreters.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

import main as entry
from graph.loader import load_file
from runtime.compile import compile_document

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "templates"
LENET_IDS = ["input", "conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "flatten", "fc1",
             "relu3", "fc2", "relu4", "fc3", "output"]
EXPECTED = {  # template key: (file, nodes, parameters as printed, class name, input shape)
    "lenet5": (TEMPLATES / "lenet5.json", 14, "61,706", "LeNet5", (1, 32, 32)),
    "mlp": (TEMPLATES / "mlp.json", 8, "8,970", "MLP", (1, 8, 8)),
}


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = entry.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# --- validate -------------------------------------------------------------------------------
@pytest.mark.parametrize("key", EXPECTED)
@pytest.mark.parametrize("by", ["name", "absolute path", "relative path"])
def test_validate_a_template_prints_one_ok_line(capsys, monkeypatch, key, by):
    file, n_nodes, params, _, _ = EXPECTED[key]
    monkeypatch.chdir(ROOT)
    arg = {"name": key, "absolute path": str(file),
           "relative path": f"templates/{file.name}"}[by]
    code, out, err = run_cli(capsys, "validate", arg)
    assert code == 0, out + err
    assert err == ""
    [line] = out.splitlines()
    shown = file if by != "relative path" else arg
    assert line == f"OK: {shown} — {n_nodes} nodes, {params} parameters"


@pytest.mark.parametrize("spelling", ["LeNet-5", "LENET5", "lenet_5"])
def test_a_template_is_found_by_its_display_name_too(capsys, spelling):
    code, out, _ = run_cli(capsys, "validate", spelling)
    assert code == 0 and "61,706 parameters" in out


def test_a_shape_problem_exits_1_naming_the_node(tmp_path, capsys):
    data = json.loads(EXPECTED["lenet5"][0].read_text())
    conv2 = next(n for n in data["graph"]["nodes"] if n["id"] == "conv2")
    conv2["params"]["kernel_size"] = [30, 30]
    path = tmp_path / "lenet5_k30.json"
    path.write_text(json.dumps(data))
    code, out, err = run_cli(capsys, "validate", str(path))
    assert code == 1
    assert err == ""
    lines = out.splitlines()
    assert len(lines) == 2, out
    assert lines[0].startswith("error: node conv2 (Conv2d): ")
    assert "kernel 30×30 does not fit the 14×14 input" in lines[0]
    assert "smaller kernel" in lines[0], "the message says what to do"
    assert lines[1] == f"{path}: 1 problem"


# --- summary --------------------------------------------------------------------------------
def test_summary_table(capsys):
    code, out, err = run_cli(capsys, "summary", "lenet5")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "LeNet-5"
    for node_id in LENET_IDS:
        assert any(line.split()[:1] == [node_id] for line in lines), node_id
    assert re.search(r"^conv1\s+Conv2d\s+N×6×28×28\s+156$", out, re.M)
    assert re.search(r"^conv2\s+Conv2d\s+N×16×10×10\s+2,416$", out, re.M)
    assert re.search(r"^fc1\s+Linear\s+N×120\s+48,120$", out, re.M)
    assert re.search(r"^output\s+Output\s+N×10\s+0$", out, re.M)
    assert lines[-1] == "Total parameters: 61,706 (0.24 MB as float32)"


def test_summary_by_path_is_the_same_as_by_name(capsys):
    _, by_name, _ = run_cli(capsys, "summary", "lenet5")
    _, by_path, _ = run_cli(capsys, "summary", str(EXPECTED["lenet5"][0]))
    assert by_name == by_path


@pytest.mark.parametrize("key", EXPECTED)
def test_summary_json(capsys, key):
    code, out, err = run_cli(capsys, "summary", key, "--json")
    assert code == 0 and err == ""
    data = json.loads(out)
    expected_total = int(EXPECTED[key][2].replace(",", ""))
    assert data["total_params"] == expected_total
    assert len(data["nodes"]) == EXPECTED[key][1]
    for row in data["nodes"]:
        assert {"id", "type", "output_shape", "params"} <= row.keys()
        assert isinstance(row["params"], int)
        assert row["output_shape"][0] == "N"
    assert sum(row["params"] for row in data["nodes"]) == expected_total
    if key == "lenet5":
        assert [row["id"] for row in data["nodes"]] == LENET_IDS
        conv1 = data["nodes"][1]
        assert conv1 == {**conv1, "id": "conv1", "type": "Conv2d",
                         "output_shape": ["N", 6, 28, 28], "params": 156}
        assert data["nodes"][-1]["output_shape"] == ["N", 10]


# --- templates ------------------------------------------------------------------------------
def test_templates_lists_names_and_descriptions(capsys):
    code, out, err = run_cli(capsys, "templates")
    assert code == 0 and err == ""
    # grouped by family: a family's name, then its templates indented under it
    lines = [ln for ln in out.splitlines() if ln.startswith("  ")]
    assert len(lines) == len(list(TEMPLATES.glob("*.json")))
    for key, (file, *_) in EXPECTED.items():
        data = json.loads(file.read_text())
        [line] = [ln for ln in lines if ln.split()[0] == key]
        assert f"{data['name']}: {data['description']}" in line


def test_templates_json(capsys):
    code, out, err = run_cli(capsys, "templates", "--json")
    assert code == 0 and err == ""
    listed = {t["key"]: t for t in json.loads(out)}
    assert {"lenet5", "mlp"} <= listed.keys()
    assert listed["lenet5"]["name"] == "LeNet-5"
    assert listed["mlp"]["name"] == "MLP"
    for t in listed.values():
        assert t["description"] and "\n" not in t["description"]


# --- export-code ----------------------------------------------------------------------------
RUN_EXPORTED = textwrap.dedent("""
    import importlib.util, sys
    import torch
    for project_module in ("graph", "runtime", "cli"):
        assert importlib.util.find_spec(project_module) is None, project_module
    outputs = {}
    for key, class_name in [("lenet5", "LeNet5"), ("mlp", "MLP")]:
        spec = importlib.util.spec_from_file_location(f"exported_{key}", f"{key}_model.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        model = getattr(module, class_name)()
        model.load_state_dict(torch.load(f"{key}_weights.pt", weights_only=True))
        model.eval()
        x = torch.load(f"{key}_input.pt", weights_only=True)
        with torch.no_grad():
            outputs[key] = model(x)
    torch.save(outputs, "outputs.pt")
    print("ran", sorted(outputs))
""")


def test_exported_code_runs_alone_and_matches_the_compiled_model(tmp_path, capsys):
    expected = {}
    for key, (file, _, params, class_name, shape) in EXPECTED.items():
        out_file = tmp_path / f"{key}_model.py"
        code, out, err = run_cli(capsys, "export-code", key, "--out", str(out_file))
        assert code == 0 and err == ""
        assert out.strip() == f"wrote {out_file} (class {class_name}, {params} parameters)"
        source = out_file.read_text(encoding="utf-8")
        compile(source, str(out_file), "exec")
        assert f"class {class_name}(nn.Module):" in source
        assert "graph." not in source and "runtime." not in source

        compiled = compile_document(load_file(file)).module.eval()
        torch.save(compiled.state_dict(), tmp_path / f"{key}_weights.pt")
        x = torch.randn(4, *shape, generator=torch.Generator().manual_seed(7))
        torch.save(x, tmp_path / f"{key}_input.pt")
        with torch.no_grad():
            expected[key] = compiled(x)

    # -I: isolated, so neither the project nor PYTHONPATH is importable; cwd is tmp_path.
    proc = subprocess.run([sys.executable, "-I", "-c", RUN_EXPORTED], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    got = torch.load(tmp_path / "outputs.pt", weights_only=True)
    for key, want in expected.items():
        assert got[key].shape == want.shape == (4, 10)
        assert torch.equal(got[key], want), key


def test_export_code_by_path_overwrites_an_existing_file(tmp_path, capsys):
    out_file = tmp_path / "model.py"
    out_file.write_text("old")
    code, _, _ = run_cli(capsys, "export-code", str(EXPECTED["mlp"][0]), "--out", str(out_file))
    assert code == 0
    assert "class MLP(nn.Module):" in out_file.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["model.py"], "no temp file left behind"


@pytest.mark.parametrize("where", ["under a file", "a folder"])
def test_export_code_to_an_unwritable_path_exits_2(tmp_path, capsys, where):
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file, not a folder")
    (tmp_path / "folder").mkdir()
    out_file = blocker / "model.py" if where == "under a file" else tmp_path / "folder"
    code, out, err = run_cli(capsys, "export-code", "lenet5", "--out", str(out_file))
    assert code == 2
    assert out == ""
    assert err.startswith(f"error: cannot write {out_file}: ")
    assert "Traceback" not in err
    assert blocker.read_text() == "a file, not a folder"
    assert list((tmp_path / "folder").iterdir()) == []


def test_a_graph_too_large_for_memory_is_a_problem_not_a_crash(tmp_path, capsys):
    # Every size is within its bound, but fc1 alone would need 14 TB: the check says so
    # and names the layer, and nothing tries to allocate it.
    data = json.loads(EXPECTED["lenet5"][0].read_text())
    data["graph"]["nodes"][0]["params"]["shape"] = [3, 100000, 100000]
    path = tmp_path / "huge.json"
    path.write_text(json.dumps(data))
    out_file = tmp_path / "huge.py"
    for command in (["validate", str(path)], ["summary", str(path)],
                    ["export-code", str(path), "--out", str(out_file)]):
        code, out, err = run_cli(capsys, *command)
        assert code == 1, out + err
        # The per-node budget (runtime/node_checks.py) stops fc1 before the model total.
        assert "error: node fc1 (Linear): fc1 would hold 1,199,712,017,400 values" in out
        assert "MAX_NODE_BYTES" in out
    assert not out_file.exists()


# --- help and unknown commands --------------------------------------------------------------
@pytest.fixture(scope="module")
def help_runs():
    """`python main.py --help` and `python main.py nosuchcommand`, run side by side."""
    procs = {args: subprocess.Popen([sys.executable, "main.py", *args], cwd=ROOT, text=True,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for args in (("--help",), ("nosuchcommand",))}
    results = {}
    for args, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        results[args[0]] = (proc.returncode, out, err)
    return results


def test_help_exits_0_and_lists_the_commands(help_runs):
    code, out, err = help_runs["--help"]
    assert code == 0, err
    for command in ("validate", "summary", "templates", "export-code"):
        assert command in out
    assert "FILE may be a path or a template name" in out


def test_an_unknown_command_is_an_error_with_a_suggestion(help_runs, capsys):
    code, out, err = help_runs["nosuchcommand"]
    assert code == 2
    assert out == ""
    assert err.strip() == ("error: 'nosuchcommand' is neither a command nor a graph file "
                           "(see `python main.py --help`)")
    code, out, err = run_cli(capsys, "valdate", "lenet5")
    assert code == 2
    assert "did you mean 'validate'?" in err


def test_nodes_lists_every_type_by_category(capsys):
    from graph.catalog import SPECS

    code, out, _ = run_cli(capsys, "nodes")
    assert code == 0
    assert "Convolution\n  Conv1d" in out
    listed = {line.split()[0] for line in out.splitlines() if line.startswith("  ")}
    assert listed == set(SPECS)
    code, out, _ = run_cli(capsys, "nodes", "--json")
    entries = {e["type"]: e for e in json.loads(out)}
    assert set(entries) == set(SPECS)
    assert entries["Conv2d"]["inferred"] == ["in_channels"]
    assert {"name": "out_channels", "kind": "int", "default": 8,
            "doc": "How many filters, so how many output channels."} in entries["Conv2d"]["params"]


def test_no_arguments_without_a_display_points_to_the_cli(capsys, monkeypatch):
    for name in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY"):
        monkeypatch.delenv(name, raising=False)
    code, out, err = run_cli(capsys)
    assert code == 2 and out == ""
    assert "needs a display, and none was found" in err
    assert "python main.py --help" in err


@pytest.mark.parametrize("argv", [["validate"], ["--bogus"], ["summary", "lenet5", "--xml"],
                                  ["export-code", "lenet5"]])
def test_bad_arguments_are_usage_errors(capsys, argv):
    with pytest.raises(SystemExit) as info:
        entry.main(argv)
    assert info.value.code == 2
    _, err = capsys.readouterr()
    assert err.startswith("usage: python main.py") and "error:" in err
