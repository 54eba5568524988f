"""Helpers shared by the dataset file loaders (runtime.data.files and its format modules)."""
from __future__ import annotations


def _why(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.split("\n")[0][:200] if text else type(exc).__name__
