"""Entry point for `fab`: the task collection, built from tasks/ (one task per step, plus the umbrella tasks)."""
from tasks.cli import build_collection

ns = build_collection()
