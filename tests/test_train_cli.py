"""`python main.py train`: a summary line per epoch, the run folder at the end, clean
interrupts, and exit codes that tell a script what happened."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import main as entry
from runtime.training.checkpoint import load_weights

ROOT = Path(__file__).resolve().parent.parent


def run_cli(capsys, *argv):
    code = entry.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_train_prints_epochs_and_ends_with_the_run_folder(tmp_path, capsys):
    code, out, err = run_cli(capsys, "train", "mlp", "--epochs", "2", "--out", str(tmp_path))
    assert code == 0, err
    lines = out.strip().splitlines()
    run_dir = Path(lines[-1])
    assert run_dir.parent == tmp_path and (run_dir / "checkpoints" / "best").is_dir()
    assert lines[0] == f"run folder: {run_dir}"
    assert lines[1].startswith("8,970 parameters on cpu; 1438 train / 359 val samples of digits")
    epochs = [line for line in lines if line.startswith("epoch ")]
    assert [e.split()[1] for e in epochs] == ["1/2", "2/2"]
    assert "val_accuracy" in epochs[0] and "samples/s" not in out  # no bar when not a terminal
    assert lines[-2].startswith("done: 2 epoch(s); best val_loss")


def test_command_line_settings_override_the_file(tmp_path, capsys):
    code, out, _ = run_cli(capsys, "train", "mlp", "--epochs", "1", "--batch-size", "100",
                           "--lr", "0.01", "--seed", "3", "--out", str(tmp_path))
    assert code == 0
    config = json.loads((Path(out.strip().splitlines()[-1]) / "config.json").read_text())
    assert (config["epochs"], config["batch_size"], config["seed"]) == (1, 100, 3)
    assert config["optimizer"]["lr"] == 0.01


def test_bad_dataset_and_bad_settings_exit_codes(tmp_path, capsys):
    code, out, err = run_cli(capsys, "train", "mlp", "--dataset", str(tmp_path / "none.csv"),
                             "--out", str(tmp_path))
    assert code == 2
    assert "none.csv" in err and "does not exist" in err and "Traceback" not in err
    assert not any(tmp_path.iterdir())
    code, out, err = run_cli(capsys, "train", "mlp", "--epochs", "0", "--out", str(tmp_path))
    assert code == 1
    assert "training.epochs: must be a whole number from 1 to 100000; got 0" in err
    code, out, err = run_cli(capsys, "train", "mlp", "--dataset", "spiralz", "--out", str(tmp_path))
    assert code == 2 and "spirals" in err  # a close match is suggested


def test_ctrl_c_saves_a_checkpoint_and_exits_cleanly(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "main.py", "train", "lenet5", "--dataset", "shapes", "--epochs", "50",
         "--batch-size", "8", "--out", str(tmp_path)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    # Wait until training really runs (the run folder and its first epoch exist): 34 s for
    # the whole test on a busy 2-core machine; the limit is for a hang.
    deadline = time.time() + 600
    while time.time() < deadline:
        runs = list(tmp_path.glob("*/checkpoints/epoch-001"))
        if runs or proc.poll() is not None:
            break
        time.sleep(0.2)
    assert runs, proc.communicate()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    run_dir = runs[0].parent.parent
    assert f"checkpoint saved in {run_dir}/checkpoints/last" in err
    tensors, graph = load_weights(run_dir / "checkpoints" / "last" / "model.safetensors")
    assert "conv1.weight" in tensors and json.loads(graph)["name"] == "LeNet-5"
    state = json.loads((run_dir / "checkpoints" / "last" / "state.json").read_text())
    assert state["extra"]["partial_epoch"] is True
