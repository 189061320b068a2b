"""`fab verify`: every step on every host (or -H), read-only, plus the cluster checks (commands/verify.py)."""
from __future__ import annotations

from ...engine.mode import Mode
from ..command import ALL, Command, Run, always, flag


def verify(run: Run) -> None:
    """--steps chosen, then the checks on the targets."""
    from ..verify import select_steps, verify
    chosen, with_cluster = select_steps(run.args.steps, run.args.live)
    verify(run.inv, run.targets(), chosen, with_cluster, run.session, run.reporter, live=run.args.live)


COMMANDS = [Command(
    "verify", "every step on every host (or -H), read-only, plus cluster consistency: one table; exit 0/2/1",
    (flag("steps", "", help="comma-separated steps to check (and/or 'cluster'); default: all"),
     flag("json"),
     flag("live", help="also check from every ESB node: database logins, driver, svn, java, members, lb"),
     flag("verbose", help="every drift item and warning on its own line (default: one line per node and step for "
                          "warnings, a count per file past 5 items)")),
    always(Mode.VERIFY), verify, group="cluster", order=40, targets=ALL, loads=("verify",), progress=False)]
