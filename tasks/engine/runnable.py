"""Runnable: what the engine needs of a step, so that the engine never imports the steps it runs."""
from __future__ import annotations

from typing import Protocol

from ..config import Host, Inventory
from ..secrets import Secrets
from .context import StepContext
from .plan import Plan


class Runnable(Protocol):
    """What the engine needs of a step (tasks/steps/base.py's Step is one): its name, how it
    shares the run (a machine's shared file, turns across targets), where it runs, what it
    reads ahead, its plan, its apply."""

    @property
    def name(self) -> str: ...

    @property
    def shared(self) -> bool: ...

    @property
    def serial(self) -> bool: ...

    def applies_to(self, host: Host, inv: Inventory) -> str | None: ...

    def preflight(self, inv: Inventory, secrets: Secrets) -> None: ...

    def reads(self, host: Host, inv: Inventory) -> list[str]: ...

    def plan(self, ctx: StepContext) -> Plan: ...

    def apply(self, ctx: StepContext, plan: Plan) -> None: ...
