"""The Step contract: what every guide step declares (name, help, phase, targets, secrets) and does
(plan, apply), and which hosts each step of a list targets. The engine runs any Runnable
(engine/runnable.py); the steps (tasks/steps/) subclass Step; the commands and probes that handle
steps ask this contract, never a step's module.

A step's `plan(ctx)` reads remote state and returns a Plan without changing anything; `apply(ctx,
plan)` performs it."""
from __future__ import annotations

from typing import Iterable

from ..config import Host, Inventory
from ..secrets import Secrets
from .context import StepContext
from .ops import apply_plan
from .plan import Plan


#: the phases of setup-cluster a step may declare, in the order they run
#: ("nodes": the manager, then the workers)
PHASES = ("certificates", "databases", "svn", "nodes", "lb")


class Step:
    """One guide step: name, one-line help, its setup-cluster phase,
    default targets, plan and apply.

    A step declares once what the rollouts, verify and the preflight derive from it:
    `phase` (one of PHASES), `default_targets`, the `secrets` patch needs and
    (`preflight`) the local files it needs."""

    name = ""
    help = ""
    phase = ""  # one of PHASES; a step without one is refused by the tests (it would never run in setup-*)
    esb_only = True  # hosts that are not manager/worker are skipped
    secrets: tuple[str, ...] = ()  # secrets patch and dry-run need (checked before any host is touched)
    roles: tuple[str, ...] = ("manager", "worker")  # the roles of the default targets
    shared = False  # writes a file several nodes of one machine share (the hosts file, certs.dir)
    serial = False  # in patch mode the targets take turns (the step writes other nodes' files too)
    switch: str | None = None  # the [security] key that puts the step into setup-*; None: always there

    def enabled(self, inv: Inventory) -> bool:
        """True when setup-* runs this step (its [security] switch, if it has one, is
        on); verify runs every step, and reports a disabled one's advisories as
        warnings (ok*), never as drift."""
        return self.switch is None or bool(getattr(inv.security, self.switch))

    def preflight(self, inv: Inventory, secrets: Secrets) -> None:
        """Check what the step needs on this machine (secrets, local files); StepError or SecretMissing."""
        for name in self.secrets:
            secrets.require(name)

    def default_targets(self, inv: Inventory) -> list[Host]:
        """The hosts whose role is one of `roles`, in file order."""
        return [h for h in inv.hosts.values() if h.role in self.roles]

    def applies_to(self, host: Host, inv: Inventory) -> str | None:
        """None when the step runs on this host, else the reason it is skipped."""
        if self.esb_only and not host.is_esb:
            return f"not an ESB node (role {host.role})"
        return None

    def reads(self, host: Host, inv: Inventory) -> list[str]:
        """The remote files (absolute paths) the step's plan reads on this host, read
        ahead of it in one pipelined batch (RemoteHost.prefetch); a file left out is
        simply read when the plan asks for it."""
        return []

    def plan(self, ctx: StepContext) -> Plan:  # pragma: no cover - abstract
        raise NotImplementedError

    def apply(self, ctx: StepContext, plan: Plan) -> None:
        """Apply the plan (tasks/engine/ops.apply_plan: early records, every file change atomic
        and backed up, the other records); a step overrides this only to wrap it (its checks
        before, its cleanup after)."""
        apply_plan(ctx, plan)


def find_steps(steps: Iterable[Step], names) -> tuple[list[Step], list[str]]:
    """The steps of `steps` with these names, in the given order, and the names not (yet) among them."""
    known = {s.name: s for s in steps}
    return [known[n] for n in names if n in known], [n for n in names if n not in known]


def host_work(hosts: list[Host], steps: list[Step], inv: Inventory,
              enabled_only: bool = True) -> list[tuple[Host, list[Step]]]:
    """Each host with the steps that target it by default (hosts no step targets
    are left out); enabled_only (rollouts): a [security] step only when its switch
    is on (verify checks every step)."""
    if enabled_only:
        steps = [s for s in steps if s.enabled(inv)]
    out = []
    for h in hosts:
        mine = [s for s in steps if any(t.name == h.name for t in s.default_targets(inv))]
        if mine:
            out.append((h, mine))
    return out
