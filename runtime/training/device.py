"""Which device trains: `auto` takes CUDA, then Apple MPS, then the CPU."""
from __future__ import annotations

import os

import torch


class DeviceError(ValueError):
    pass


def available_devices() -> list[str]:
    """What this machine offers, best first (for a device picker)."""
    found = [f"cuda:{i}" for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    if _mps_available():
        found.append("mps")
    return found + ["cpu"]


def pick_device(requested: str = "auto") -> torch.device:
    text = (requested or "auto").strip().lower()
    if text == "auto":
        return torch.device(available_devices()[0])
    if text == "cpu":
        return torch.device("cpu")
    if text == "mps":
        if not _mps_available():
            raise DeviceError("device 'mps' was requested but Apple MPS is not available here; "
                              f"available: {', '.join(available_devices())}")
        return torch.device("mps")
    if text == "cuda" or text.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise DeviceError(f"device {requested!r} was requested but CUDA is not available "
                              f"(torch {torch.__version__}, "
                              f"{'a CPU build' if torch.version.cuda is None else 'no GPU found'}); "
                              f"available: {', '.join(available_devices())}")
        index = 0 if text == "cuda" else _index(text, requested)
        if index >= torch.cuda.device_count():
            raise DeviceError(f"device {requested!r} does not exist: this machine has "
                              f"{torch.cuda.device_count()} CUDA device(s)")
        return torch.device("cuda", index)
    raise DeviceError(f"unknown device {requested!r}: use auto, cpu, cuda, cuda:N or mps")


def _index(text: str, requested: str) -> int:
    try:
        index = int(text.split(":", 1)[1])
    except ValueError:
        raise DeviceError(f"unknown device {requested!r}: use cuda:N with a number N") from None
    if index < 0:
        raise DeviceError(f"unknown device {requested!r}: N must be 0 or more")
    return index


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def describe_devices() -> list[tuple[str, str]]:
    """(device id, what it is) for each device found, best first: the editor's picker."""
    described = []
    for name in available_devices():
        if name.startswith("cuda:"):
            props = torch.cuda.get_device_properties(int(name.split(":")[1]))
            described.append((name, f"{name} — {props.name}, {props.total_memory / 2**30:.0f} GiB"))
        elif name == "mps":
            described.append((name, "mps — Apple GPU"))
        else:
            described.append((name, f"cpu — {os.cpu_count() or 1} cores"))
    return described
