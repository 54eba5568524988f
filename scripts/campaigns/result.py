"""What one campaign reports: the figures scripts/campaign.py prints side by side."""
from __future__ import annotations

import resource
from dataclasses import dataclass, field


@dataclass
class CampaignResult:
    name: str
    cases: int = 0
    unhandled: int = 0          # exceptions that escaped, or exit codes outside 0/1/2
    hangs: int = 0              # cases that ran past their time limit
    peak_memory_mb: float = 0.0  # the largest resident size seen in any case
    corrupt_files: int = 0      # files left neither old nor new (or unreadable)
    lost_edits: int = 0         # user work that could not be recovered
    seconds: float = 0.0
    # A few examples of what went wrong, to reproduce by hand.
    examples: list[str] = field(default_factory=list)

    def failed(self) -> bool:
        return bool(self.unhandled or self.hangs or self.corrupt_files or self.lost_edits)


def peak_memory_mb() -> float:
    """The largest resident size of this process or any child it waited for, in MB."""
    peak_kb = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
                  resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    return round(peak_kb / 1024, 1)
