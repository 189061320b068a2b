"""How a run treats the plans its steps compute: the Mode, and the few
facts of it a step's plan may ask.

The runner and the reporter decide by the Mode (verify reports, dry-run shows the diff, patch
applies); a step never sees it. A plan may ask only what `Checks` tells: whether live probes run
(verify's login round trips), whether new bytes are rendered (dry-run's diff, patch's write) and
whether the plan will be applied (a check only a write needs).
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Mode(str, Enum):
    PATCH = "patch"
    VERIFY = "verify"
    DRY_RUN = "dry-run"
    ROLLBACK = "rollback"

    @property
    def writes(self) -> bool:
        """Modes that change hosts (and so take the per-host lock)."""
        return self in (Mode.PATCH, Mode.ROLLBACK)

    @property
    def checks(self) -> "Checks":
        return Checks(probes=self is Mode.VERIFY, renders=self is not Mode.VERIFY, applies=self.writes)


@dataclass(frozen=True)
class Checks:
    """What a step's plan may ask of the run (never which mode it is)."""

    probes: bool = False  # live checks run (a login round trip): verify
    renders: bool = True  # new bytes are computed and proved to converge: dry-run and patch
    applies: bool = True  # the plan is applied right after (patch, rollback)


__all__ = ["Mode", "Checks"]
