"""Damaged graph files: every one gives a clear message and an exit code, never a traceback.

Each bad file is made from a frozen copy of the LeNet-5 template (tests/data/lenet5_base.json) by breaking one thing. Most cases
run the CLI in-process (`main.main`); a few run `python main.py` for real, to prove that no
traceback reaches the terminal. Exit codes: 2 the file cannot be used (unreadable,
malformed, wrong structure), 1 it loads but the graph has problems, 0 it is fine.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import main as entry
from tests.file_edits import (BASE, LINE_COL, ROOT, cut_after, drop_key, edited, literal,
                              set_key, set_param)


def cycle(d: dict) -> None:
    # relu1 feeds conv1 instead of the Input: conv1 → relu1 → conv1.
    d["graph"]["edges"][0] = {"src": "relu1", "src_port": "out", "dst": "conv1", "dst_port": "x"}


@dataclass
class Case:
    id: str
    content: str | bytes
    code: int
    phrases: list[str]
    # A regex for the location the message must give; None: the problem is the whole file.
    where: str | None = None
    extra_checks: list[str] = field(default_factory=list)


TRUNCATIONS = [
    # (id, text, expect the "looks cut off" hint)
    ("truncated-after-nodes-bracket", cut_after('"nodes": ['), True),
    ("truncated-inside-string", cut_after('"description": "LeCun', 0), True),
    ("truncated-after-comma", cut_after('{"src": "input", "src_port": "out",'), True),
    ("truncated-before-last-brace", BASE.rstrip()[:-1], True),
    ("truncated-mid-number", cut_after('"out_features": 12'), True),
]

LOAD_FAILURES = [
    *[Case(name, text, 2, ["is not valid JSON"] + (["looks cut off"] if hint else []),
           LINE_COL) for name, text, hint in TRUNCATIONS],
    Case("empty-file", "", 2, ["is empty"]),
    Case("whitespace-only", "  \n\t\n", 2, ["is empty"]),
    Case("binary-garbage", bytes(range(256)) * 4, 2,
         ["not a text file", "not UTF-8", "byte 0x80 at offset 128 (line 2)"]),
    Case("png-header", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x20", 2,
         ["not a text file", ".json"]),
    Case("csv-text", "id,type,out_channels\nconv1,Conv2d,6\n", 2,
         ["is not valid JSON at line 1, column 1"], LINE_COL),
    Case("json-list-at-top", json.dumps([json.loads(BASE)]), 2,
         ["must be a JSON object, found a list"], r"\$: "),
    Case("json-string-at-top", '"lenet5"', 2, ["must be a JSON object, found text"], r"\$: "),
    Case("nodes-not-a-list", edited(lambda d: d["graph"].__setitem__("nodes", {"conv1": {}})),
         2, ["must be a list, found an object"], r"\$\.graph\.nodes: "),
    Case("edges-not-a-list", edited(lambda d: d["graph"].__setitem__("edges", "all")),
         2, ["must be a list, found text"], r"\$\.graph\.edges: "),
    Case("graph-not-an-object", edited(lambda d: d.__setitem__("graph", [])), 2,
         ["must be an object with nodes and edges, found a list"], r"\$\.graph: "),
    Case("params-a-string", edited(set_key("conv1", "params", "out_channels=6")), 2,
         ["must be an object, found text"], r"\$\.graph\.nodes\[1\]\.params \(node conv1\): "),
    Case("position-three-numbers", edited(set_key("conv1", "position", [1, 2, 3])), 2,
         ["must be [x, y] with two numbers, found [1, 2, 3]"],
         r"\$\.graph\.nodes\[1\]\.position \(node conv1\): "),
    Case("position-huge", edited(set_key("conv1", "position", [1e300, 0])), 2,
         ["must be [x, y] with two numbers"], r"\$\.graph\.nodes\[1\]\.position"),
    Case("id-a-number", edited(set_key("conv1", "id", 7)), 2,
         ["must be non-empty text, found a number 7"], r"\$\.graph\.nodes\[1\]\.id: "),
    Case("id-empty", edited(set_key("conv1", "id", "")), 2,
         ["must be non-empty text"], r"\$\.graph\.nodes\[1\]\.id: "),
    Case("label-a-number", edited(set_key("conv1", "label", 5)), 2,
         ["must be text, found a number 5"], r"\$\.graph\.nodes\[1\]\.label \(node conv1\)"),
    Case("unknown-type-close-match", edited(set_key("conv1", "type", "Conv22d")), 2,
         ["unknown node type 'Conv22d'", "did you mean 'Conv2d'?"],
         r"\$\.graph\.nodes\[1\]\.type \(node conv1\): "),
    Case("unknown-type-no-match", edited(set_key("conv1", "type", "Qwertyuiop")), 2,
         ["unknown node type 'Qwertyuiop'"], r"\$\.graph\.nodes\[1\]\.type \(node conv1\): "),
    Case("no-graph-key", edited(lambda d: d.pop("graph")), 2,
         ['has no "graph" key'], r"\$: "),
    Case("no-nodes-key", edited(lambda d: d["graph"].pop("nodes")), 2,
         ["is missing"], r"\$\.graph\.nodes: "),
    Case("node-without-type", edited(drop_key("conv1", "type")), 2,
         ["is missing"], r"\$\.graph\.nodes\[1\]\.type \(node conv1\): "),
    Case("node-without-id", edited(drop_key("conv1", "id")), 2,
         ["is missing"], r"\$\.graph\.nodes\[1\]\.id: "),
    Case("edge-without-dst", edited(lambda d: d["graph"]["edges"][0].pop("dst")), 2,
         ["is missing"], r"\$\.graph\.edges\[0\]\.dst: "),
    Case("edge-not-an-object", edited(lambda d: d["graph"]["edges"].__setitem__(0, "a->b")),
         2, ["must be an object, found text"], r"\$\.graph\.edges\[0\]: "),
    Case("training-a-list", edited(lambda d: d.__setitem__("training", [])), 2,
         ["must be an object, found a list"], r"\$\.training: "),
    Case("blocks-a-string", edited(lambda d: d.__setitem__("blocks", "none")), 2,
         ["must be an object of block definitions"], r"\$\.blocks: "),
    Case("other-format", edited(lambda d: d.__setitem__("format", "keras.model")), 2,
         ["says 'keras.model'", "nodetorch.graph"], r"\$\.format: "),
    Case("newer-version", edited(lambda d: d.__setitem__("version", 99)), 2,
         ["is 99", "written by a newer NodeTorch", "up to version 1"], r"\$\.version: "),
    Case("version-text", edited(lambda d: d.__setitem__("version", "1.0")), 2,
         ["must be a positive whole number"], r"\$\.version: "),
    # Numbers no graph can hold. The loader rejects them while parsing (no location yet:
    # see test_number_errors_name_their_location).
    Case("5000-digit-integer", literal('"out_channels": 6', '"out_channels": ' + "9" * 5000),
         2, ["5000 digits long", "too large"]),
    Case("400-digit-integer", literal('"out_channels": 6', '"out_channels": ' + "9" * 400),
         2, ["400 digits long", "too large"]),
    Case("400-digit-kernel", literal('"kernel_size": [5, 5]', '"kernel_size": [5, 1' +
                                     "0" * 400 + "]"), 2, ["401 digits long", "too large"]),
    Case("float-1e400", literal('"out_channels": 6', '"out_channels": 1e400'), 2,
         ["1e400", "too large"]),
    Case("NaN", literal('"out_channels": 6', '"out_channels": NaN'), 2,
         ["holds NaN", "not a number a graph file may contain"]),
    Case("Infinity", literal('"out_channels": 6', '"out_channels": Infinity'), 2,
         ["holds Infinity", "not a number"]),
    Case("minus-Infinity", literal('"lr": 0.001', '"lr": -Infinity'), 2,
         ["holds -Infinity", "not a number"]),
    Case("nested-too-deep", "[" * 200_000 + "]" * 200_000, 2, ["nests deeper than 64 levels at line 1, column 65",
                                                          "$[0][0]"]),
]

GRAPH_PROBLEMS = [
    Case("out_channels-text", edited(set_param("conv1", "out_channels", "six")), 1,
         ["out_channels must be a whole number, got 'six'"], r"node conv1 \(Conv2d\): "),
    Case("out_channels-fraction", edited(set_param("conv1", "out_channels", 6.5)), 1,
         ["out_channels must be a whole number, got 6.5"], r"node conv1 \(Conv2d\): "),
    Case("out_channels-null", edited(set_param("conv1", "out_channels", None)), 1,
         ["out_channels needs a value"], r"node conv1 \(Conv2d\): "),
    Case("kernel_size-with-text", edited(set_param("conv1", "kernel_size", [5, "a"])), 1,
         ["kernel_size must hold whole numbers only, got [5, 'a']"], r"node conv1 \(Conv2d\): "),
    Case("kernel_size-three-numbers", edited(set_param("conv1", "kernel_size", [5, 5, 5])), 1,
         ["kernel_size needs exactly 2 numbers, got 3"], r"node conv1 \(Conv2d\): "),
    Case("bias-yes", edited(set_param("conv1", "bias", "yes")), 1,
         ["bias must be true or false, got 'yes'"], r"node conv1 \(Conv2d\): "),
    Case("out_channels-10e30", edited(set_param("conv1", "out_channels", 10**30)), 1,
         ["out_channels must be at most 16777216", "1e+30"], r"node conv1 \(Conv2d\): "),
    Case("out_channels-negative", edited(set_param("conv1", "out_channels", -3)), 1,
         ["out_channels must be at least 1, got -3"], r"node conv1 \(Conv2d\): "),
    Case("input-shape-negative", edited(set_param("input", "shape", [1, -32, 32])), 1,
         ["shape must be at least 1, got -32"], r"node input \(Input\): "),
    Case("kernel_size-zero", edited(set_param("conv1", "kernel_size", [0, 5])), 1,
         ["kernel_size must be at least 1, got 0"], r"node conv1 \(Conv2d\): "),
    Case("kernel-bigger-than-input", edited(set_param("conv2", "kernel_size", [30, 30])), 1,
         ["kernel 30×30 does not fit the 14×14 input"], r"node conv2 \(Conv2d\): "),
    Case("duplicate-node-id", edited(set_key("relu1", "id", "conv1")), 1,
         ["id 'conv1' is used twice; the second ReLU was renamed 'conv1_2'"],
         r"node conv1_2 \(ReLU\): "),
    Case("edge-to-missing-node", edited(
        lambda d: d["graph"]["edges"][1].__setitem__("dst", "ghost")), 1,
        ["refers to node 'ghost', which does not exist; the edge was dropped"],
        r"node conv1 \(Conv2d\): "),
    Case("cycle", edited(cycle), 1,
         ["these nodes form a loop:"], r"node (conv1 \(Conv2d\)|relu1 \(ReLU\)): ",
         extra_checks=[r"(conv1 → relu1 → conv1|relu1 → conv1 → relu1)"]),
    Case("no-output-node", edited(lambda d: (d["graph"]["nodes"].pop(),
                                             d["graph"]["edges"].pop())), 1,
         ["the graph has no Output node"], r"graph: "),
]

FINE_FILES = [
    # "Conv2D" is an old spelling the loader renames: the file loads and checks clean.
    Case("renamed-type-Conv2D", edited(set_key("conv1", "type", "Conv2D")), 0,
         ["14 nodes", "61,706 parameters"]),
    Case("renamed-type-Dense", edited(set_key("fc1", "type", "Dense")), 0,
         ["14 nodes", "61,706 parameters"]),
    # Unknown keys are kept, not errors; an unknown parameter is only a warning.
    Case("unknown-keys", edited(lambda d: (d.__setitem__("made_by", {"tool": "x"}),
                                           set_key("conv1", "color", "red")(d))), 0,
         ["61,706 parameters"]),
    Case("unknown-param", edited(set_param("conv1", "dilatation", 2)), 0,
         ["warning: node conv1 (Conv2d): conv1 has no parameter 'dilatation'; it is ignored"]),
]


def write_case(tmp_path: Path, case: Case) -> Path:
    path = tmp_path / f"{case.id}.json"
    if isinstance(case.content, bytes):
        path.write_bytes(case.content)
    else:
        path.write_text(case.content, encoding="utf-8")
    return path


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = entry.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def check_message(case: Case, path: Path, code: int, out: str, err: str) -> None:
    text = out + err
    assert code == case.code, text
    assert "Traceback" not in text
    assert str(path) in text, f"the message does not name the file:\n{text}"
    for phrase in case.phrases:
        assert phrase in text, f"{phrase!r} not in:\n{text}"
    if case.where is not None:
        # The location and the words are on one line: "<where>...<phrase>".
        first = case.phrases[0]
        line = next((ln for ln in text.splitlines() if first in ln), "")
        assert re.search(case.where, line), f"no location {case.where!r} in {line!r}"
    for pattern in case.extra_checks:
        assert re.search(pattern, text), f"{pattern!r} not in:\n{text}"


# --- the cases, in-process ------------------------------------------------------------------
@pytest.mark.parametrize("case", LOAD_FAILURES, ids=lambda c: c.id)
def test_file_that_cannot_be_loaded_exits_2(tmp_path, capsys, case):
    path = write_case(tmp_path, case)
    code, out, err = run_cli(capsys, "validate", str(path))
    check_message(case, path, code, out, err)
    assert out == "", "a load failure goes to stderr only"
    assert err.startswith(f"error: cannot load {path}:")


@pytest.mark.parametrize("case", GRAPH_PROBLEMS, ids=lambda c: c.id)
def test_readable_file_with_graph_problems_exits_1(tmp_path, capsys, case):
    path = write_case(tmp_path, case)
    code, out, err = run_cli(capsys, "validate", str(path))
    check_message(case, path, code, out, err)
    # Every diagnostic line has the `<severity>: node <id> (<type>): <message>` form, or
    # `graph: ...` for the graph as a whole; the last line counts them and names the file.
    lines = out.strip().splitlines()
    for line in lines[:-1]:
        assert re.match(r"(error|warning): (node \S+ \(\w+\)|graph): \S", line), line
    assert re.fullmatch(rf"{re.escape(str(path))}: \d+ problems?", lines[-1]), lines[-1]
    n_errors = sum(line.startswith("error: ") for line in lines)
    assert lines[-1].endswith(f": {n_errors} problem{'s' if n_errors != 1 else ''}")


@pytest.mark.parametrize("case", FINE_FILES, ids=lambda c: c.id)
def test_file_that_is_fine_exits_0(tmp_path, capsys, case):
    path = write_case(tmp_path, case)
    code, out, err = run_cli(capsys, "validate", str(path))
    check_message(case, path, code, out, err)
    assert out.strip().splitlines()[-1].startswith(f"OK: {path} — 14 nodes")


def test_every_structure_problem_is_listed_not_just_the_first(tmp_path, capsys):
    def two_problems(d):
        set_key("conv1", "params", "big")(d)
        d["graph"]["edges"][3].pop("dst")
        set_key("fc1", "position", [0])(d)
    path = tmp_path / "three.json"
    path.write_text(edited(two_problems))
    code, _, err = run_cli(capsys, "validate", str(path))
    assert code == 2
    assert "$.graph.nodes[1].params (node conv1): must be an object" in err
    assert "$.graph.edges[3].dst: is missing" in err
    assert "$.graph.nodes[8].position (node fc1): must be [x, y]" in err


def test_unknown_types_are_all_listed(tmp_path, capsys):
    def two(d):
        set_key("conv1", "type", "Conv22d")(d)
        set_key("fc1", "type", "Lineer")(d)
    path = tmp_path / "types.json"
    path.write_text(edited(two))
    code, _, err = run_cli(capsys, "validate", str(path))
    assert code == 2
    assert "did you mean 'Conv2d'?" in err and "did you mean 'Linear'?" in err


def test_a_folder_given_as_file(tmp_path, capsys):
    folder = tmp_path / "graph.json"
    folder.mkdir()
    code, out, err = run_cli(capsys, "validate", str(folder))
    assert code == 2 and out == ""
    assert err.startswith(f"error: cannot load {folder}:")
    assert "is a folder, not a graph file" in err


def test_a_missing_path(tmp_path, capsys):
    missing = tmp_path / "nowhere" / "model.json"
    code, out, err = run_cli(capsys, "validate", str(missing))
    assert code == 2 and out == ""
    assert str(missing) in err
    assert "no such file, and no template of that name" in err


def test_a_file_without_read_permission(tmp_path, capsys, monkeypatch):
    path = tmp_path / "locked.json"
    path.write_text(BASE)
    # chmod 0 does not stop root (CI runs as root), so make the read itself fail.
    real_open = Path.open

    def refuse(self, *args, **kwargs):
        if self == path:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse)
    code, _, err = run_cli(capsys, "validate", str(path))
    assert code == 2
    assert err.strip() == f"error: cannot load {path}:\n  cannot be read: Permission denied"


MALFORMED = {
    "truncated": BASE[: len(BASE) // 2],
    "non-json": "<html><body>not a graph</body></html>\n",
    "unknown-type": edited(set_key("conv1", "type", "Conv22d")),
}


@pytest.mark.parametrize("command", [["summary"], ["summary", "--json"],
                                     ["export-code", "--out", "OUT"]])
@pytest.mark.parametrize("kind", MALFORMED)
def test_every_command_gives_the_same_exit_2(tmp_path, capsys, command, kind):
    path = tmp_path / f"{kind}.json"
    path.write_text(MALFORMED[kind])
    out_file = tmp_path / "model.py"
    argv = [command[0], str(path), *[str(out_file) if a == "OUT" else a for a in command[1:]]]
    code, out, err = run_cli(capsys, *argv)
    _, _, validate_err = run_cli(capsys, "validate", str(path))
    assert code == 2 and out == ""
    assert err == validate_err, "every command reports a bad file the same way"
    assert not out_file.exists()


def test_graph_problems_stop_summary_and_export_with_exit_1(tmp_path, capsys):
    path = tmp_path / "k30.json"
    path.write_text(edited(set_param("conv2", "kernel_size", [30, 30])))
    out_file = tmp_path / "model.py"
    for argv, words in ((["summary", str(path)], "cannot summarise a graph with problems"),
                        (["summary", str(path), "--json"], "cannot summarise"),
                        (["export-code", str(path), "--out", str(out_file)],
                         "fix these problems before exporting")):
        code, out, err = run_cli(capsys, *argv)
        assert code == 1, out + err
        assert "node conv2 (Conv2d): conv2: kernel 30×30 does not fit" in out
        assert f"{path}: {words}" in out
    assert not out_file.exists()


# --- real processes: nothing but the message reaches the terminal ---------------------------
SUBPROCESS_CASES = {
    "truncated": (BASE[: len(BASE) * 2 // 3], ["is not valid JSON at line", "column"]),
    "png": (b"\x89PNG\r\n\x1a\n" + bytes(range(128, 256)), ["not a text file"]),
    "huge-number": (literal('"out_channels": 6', '"out_channels": ' + "7" * 5000),
                    ["5000 digits long"]),
    "unknown-type": (edited(set_key("conv1", "type", "Conv22d")),
                     ["$.graph.nodes[1].type (node conv1)", "did you mean 'Conv2d'?"]),
    "missing": (None, ["no such file"]),
}


@pytest.fixture(scope="module")
def subprocess_results(tmp_path_factory):
    """Run `python main.py validate FILE` for every case at once (each pays torch's import)."""
    folder = tmp_path_factory.mktemp("subprocess")
    procs = {}
    for name, (content, _) in SUBPROCESS_CASES.items():
        path = folder / f"{name}.json"
        if isinstance(content, bytes):
            path.write_bytes(content)
        elif content is not None:
            path.write_text(content)
        procs[name] = (path, subprocess.Popen(
            [sys.executable, "main.py", "validate", str(path)], cwd=ROOT,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = {}
    for name, (path, proc) in procs.items():
        out, err = proc.communicate(timeout=120)
        results[name] = (path, proc.returncode, out, err)
    return results


@pytest.mark.parametrize("name", SUBPROCESS_CASES)
def test_no_traceback_reaches_the_terminal(subprocess_results, name):
    path, code, out, err = subprocess_results[name]
    assert code == 2, out + err
    assert "Traceback" not in out + err
    assert out == ""
    assert str(path) in err
    for phrase in SUBPROCESS_CASES[name][1]:
        assert phrase in err
    assert len(err.splitlines()) <= 3, "a short message, not a dump"
