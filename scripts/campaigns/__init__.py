"""Long fault campaigns (fuzzing, edit sequences, kills, full disks), run by scripts/campaign.py.

Each module here exposes `run(count: int) -> CampaignResult`; the fast versions of the same
checks live in tests/ and run in CI.
"""
