"""tasks/engine/mode.py: the Mode the runner decides by, the Checks a plan may ask, and no step reading the mode."""
from __future__ import annotations

import re
from pathlib import Path

from tasks.engine.mode import Checks, Mode
from tasks.engine.runner import MODES, Session

STEPS_DIR = Path(__file__).resolve().parents[3] / "tasks" / "steps"


def test_what_each_mode_asks_of_a_plan():
    assert Mode.VERIFY.checks == Checks(probes=True, renders=False, applies=False)
    assert Mode.DRY_RUN.checks == Checks(probes=False, renders=True, applies=False)
    assert Mode.PATCH.checks == Checks(probes=False, renders=True, applies=True)
    assert Mode("patch") is Mode.PATCH and Mode.PATCH == "patch"  # what the command line passes
    assert MODES == ("patch", "verify", "dry-run")
    assert [m.value for m in Mode if m.writes] == ["patch", "rollback"]  # the modes that take the per-host lock


def test_a_session_holds_a_mode_not_a_string():
    from tests.unit.helpers import inventory
    from tasks.secrets import Secrets
    s = Session(inventory(), Secrets({}), "dry-run")
    assert s.mode is Mode.DRY_RUN and not s.mode.writes


def test_no_step_reads_the_mode():
    """A step's plan asks ctx.checks; the mode (and its names) belong to the runner and the reporter."""
    for f in sorted(STEPS_DIR.glob("*.py")):
        text = f.read_text()
        assert not re.search(r"\bctx\.mode\b|\bmode\s*[!=]=\s*\"|\"dry-run\"|Mode\.", text), f.name
