"""`fab deploy FILE` and `fab undeploy NAME`: a Carbon application on the manager, then the proof that
DepSync carried it to every running node within --wait (commands/deploy/)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from ...engine.mode import Mode
from ..command import MANAGER, Command, Run, dry_run_or, flag

if TYPE_CHECKING:
    from ...config import Inventory


def wait_seconds(inv: "Inventory", wait: str | None) -> float:
    """--wait SECONDS, or [run].sync_timeout; a bad value is a ConfigError (nothing touched)."""
    from ...config import ConfigError
    if wait is None:
        return float(inv.run.sync_timeout)
    try:
        value = float(wait)
    except ValueError:
        value = -1.0
    if not 0 < value <= 86400:
        raise ConfigError(f"--wait {wait!r}: seconds, more than 0 and at most 86400")
    return value


def flag_not_file(task: str, value: str) -> None:
    """Invoke gives a task's positional argument the next word, a flag too (`fab deploy --help`)."""
    from ...config import ConfigError
    if value.startswith("-"):
        raise ConfigError(f"{task}: {value!r} is a flag, not {'an archive' if task == 'deploy' else 'a name'}; "
                          f"for help: fab --help {task}")


def run_deploy(run: Run) -> None:
    """deploy / undeploy on the manager (commands/deploy/), then the proof within --wait."""
    from .. import deploy as commands
    task = run.command.name
    what = run.args.file if task == "deploy" else run.args.name
    flag_not_file(task, what)
    seconds = wait_seconds(run.inv, run.args.wait)
    getattr(commands, task)(run.inv, run.targets(), run.session, run.reporter, what, seconds)


def deploy_flags(positional: str, help: str) -> tuple:
    """The word (FILE or NAME), --wait, --dry-run, --json, --verbose, --break-lock."""
    return (flag(positional, None, help=help, positional=True),
            flag("wait", None, help="seconds to wait for DepSync to carry it to every running node "
                                    "(default [run].sync_timeout)"),
            flag("dry_run", help="check the archive and the manager, say what would be written; change nothing"),
            flag("json"), flag("verbose"), flag("break_lock"))


COMMANDS = [
    Command("deploy", "put a Carbon application (.car) on the manager (atomic, backed up), prove DepSync brought "
                      "it to every node",
            deploy_flags("file", "the Carbon application archive (.car)"),
            dry_run_or(Mode.PATCH), run_deploy, group="cluster", order=70, targets=MANAGER, loads=("deploy",)),
    Command("undeploy", "remove a Carbon application from the manager (backed up), prove DepSync took it off every "
                        "node",
            deploy_flags("name", "the archive's file name in carbonapps, or <name>_<version>"),
            dry_run_or(Mode.PATCH), run_deploy, group="cluster", order=80, targets=MANAGER, loads=("deploy",)),
]
