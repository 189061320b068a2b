"""tasks/mode.py: the Mode the runner decides by, the Checks a plan may ask, and no step reading the mode."""
from __future__ import annotations

import re
from pathlib import Path

from tasks.mode import Checks, Mode
from tasks.runner import MODES, WRITE_MODES

STEPS_DIR = Path(__file__).resolve().parents[2] / "tasks" / "steps"


def test_what_each_mode_asks_of_a_plan():
    assert Mode.VERIFY.checks == Checks(probes=True, renders=False, applies=False)
    assert Mode.DRY_RUN.checks == Checks(probes=False, renders=True, applies=False)
    assert Mode.PATCH.checks == Checks(probes=False, renders=True, applies=True)
    assert Mode("patch") is Mode.PATCH and Mode.PATCH == "patch"  # what the command line passes
    assert MODES == ("patch", "verify", "dry-run") and WRITE_MODES == ("patch", "rollback")


def test_no_step_reads_the_mode():
    """A step's plan asks ctx.checks; the mode (and its names) belong to the runner and the reporter."""
    for f in sorted(STEPS_DIR.glob("*.py")):
        text = f.read_text()
        assert not re.search(r"\bctx\.mode\b|\bmode\s*[!=]=\s*\"|\"dry-run\"|Mode\.", text), f.name
