"""`fab rollback`: the last patch run's files back from its backups (commands/rollback/)."""
from __future__ import annotations

from ...engine.mode import Mode
from ..command import ALL, Command, Run, dry_run_or, flag


def rollback(run: Run) -> None:
    """The targets' last patch run (--all: every file as it was before the project first touched it)."""
    from ..rollback import rollback
    rollback(run.inv, run.targets(), run.session, run.reporter, everything=run.args.all)


COMMANDS = [Command(
    "rollback", "restore the files the last patch run changed on the targets (default: all), from its backups",
    (flag("dry_run", help="show what would be restored (diff); change nothing"), flag("json"),
     flag("all", help="every file back to its state before the project first touched it (shipped)"),
     flag("verbose"), flag("break_lock")),
    dry_run_or(Mode.ROLLBACK), rollback, group="cluster", order=60, targets=ALL, loads=("rollback",))]
