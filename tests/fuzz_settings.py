"""Hypothesis settings for the fuzz and edit-sequence tests, chosen by NODETORCH_FUZZ.

Unset (CI, a developer's run): the fast profile, derandomized so every run draws the same
cases and a failure reproduces. NODETORCH_FUZZ=slow: the campaign profile (thousands of
cases, random seeds), which scripts/campaigns/fuzz.py also uses.
"""
from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

SLOW = os.environ.get("NODETORCH_FUZZ", "").lower() == "slow"
_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
          HealthCheck.large_base_example]


def fuzz_settings(fast: int, slow: int, **extra) -> settings:
    """`fast` cases normally, `slow` under NODETORCH_FUZZ=slow; never a deadline (a busy
    machine is not a bug), and no example database: each run stands on its own."""
    return settings(max_examples=slow if SLOW else fast, deadline=None, derandomize=not SLOW,
                    database=None, suppress_health_check=_QUIET, print_blob=True, **extra)
