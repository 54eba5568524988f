"""The long fault campaigns, one after another, with their figures side by side.

    .venv/bin/python scripts/campaign.py                # the full sizes the issue asks for
    .venv/bin/python scripts/campaign.py --scale 0.05   # a quick look at every campaign
    .venv/bin/python scripts/campaign.py --only fuzz editor_kills

Each campaign is a module in scripts/campaigns/ with `run(count) -> CampaignResult`; CI
runs the fast versions of the same checks from tests/. Exits 1 when any campaign found an
unhandled exception, a hang, a corrupt file or a lost edit.
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# name → full size: ≥ 10,000 fuzzed files (and a tenth as many edit sequences, so
# ≥ 1,000), ≥ 20 training kills, ≥ 100 editor kills, a dozen disk-full runs.
CAMPAIGNS = {"fuzz": 10_000, "training_kills": 20, "editor_kills": 100, "disk_full": 12}
COLUMNS = ("cases", "unhandled", "hangs", "peak_memory_mb", "corrupt_files", "lost_edits",
           "seconds")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="multiply every size")
    parser.add_argument("--only", nargs="+", choices=tuple(CAMPAIGNS), help="run only these")
    args = parser.parse_args()
    results = []
    for name in args.only or CAMPAIGNS:
        count = max(1, round(CAMPAIGNS[name] * args.scale))
        print(f"== {name}: {count} cases", flush=True)
        module = importlib.import_module(f"scripts.campaigns.{name}")
        result = module.run(count)
        results.append(result)
        for example in result.examples:
            print(f"   example: {example}")
    print()
    print(f"{'campaign':16}" + "".join(f"{c:>16}" for c in COLUMNS))
    for r in results:
        cells = [f"{getattr(r, c):>16,.1f}" if isinstance(getattr(r, c), float)
                 else f"{getattr(r, c):>16,}" for c in COLUMNS]
        print(f"{r.name:16}" + "".join(cells))
    for r in results:  # figures of a campaign's own (partials left, children left, ...)
        extra = [f"{f.name}={getattr(r, f.name)}" for f in dataclasses.fields(r)
                 if f.name not in (*COLUMNS, "name", "examples")]
        if extra:
            print(f"{r.name:16}" + "  ".join(extra))
    failed = [r.name for r in results if r.failed()]
    print("\nFAILED: " + ", ".join(failed) if failed else "\nall campaigns clean")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
