"""Entry point for `fab`: the task collection, built from tasks/ (one task per step, plus the umbrella tasks);
the running fab lists and checks its flags as the `esb` command does (tasks/program.py)."""
from tasks.cli import build_collection
from tasks.program import adopt

ns = build_collection()
adopt()
