"""The servers' lifecycle on the ESB nodes (CONTRACT §10): start, stop, restart, status, rolling-restart
and drain (commands/lifecycle/)."""
from __future__ import annotations

from typing import Callable

from ...engine.mode import Mode
from ..command import ESB, Command, Flag, Run, always, dry_run_or, flag

#: the module most lifecycle bodies run with (Command.loads)
COMMANDS_MODULE = ("lifecycle.commands",)

#: --dry-run of a lifecycle command
DRY_RUN = flag("dry_run", help="say what would be done, in order; change nothing")


def in_order(act: Callable[[Run, list], object]) -> Callable[[Run], None]:
    """A body whose nodes work in parallel, a row each: their rows print in hosts.toml order."""
    def body(run: Run) -> None:
        hosts = run.targets()
        run.reporter.rows_in_order([h.name for h in hosts], lambda: act(run, hosts))
    return body


def start(run: Run, hosts: list) -> None:
    from ..lifecycle.commands import start
    start(run.inv, hosts, run.session, run.reporter, run.args.force)


def stop(run: Run, hosts: list) -> None:
    from ..lifecycle.commands import stop
    stop(run.inv, hosts, run.session, run.reporter, run.args.force)


def restart(run: Run) -> None:
    from ..lifecycle.commands import restart
    restart(run.inv, run.targets(), run.session, run.reporter, run.args.force)


def status(run: Run, hosts: list) -> None:
    from ..lifecycle.status import status
    status(run.inv, hosts, run.session, run.reporter)


def rolling_restart(run: Run) -> None:
    from ..lifecycle.roll import rolling_restart
    rolling_restart(run.inv, run.targets(), run.session, run.reporter, run.args.needed)


def drain(run: Run) -> None:
    """The workers -H names (drain has no default targets: draining every worker is a choice to write)."""
    from ...config import ConfigError
    from ..lifecycle.commands import drain
    if run.cli_hosts is None:
        raise ConfigError("drain takes the workers to drain with -H (e.g. fab -H esb-w3 drain)")
    drain(run.inv, run.targets(), run.session, run.reporter, run.args.undo, run.args.force)


def flags(*own: Flag) -> tuple[Flag, ...]:
    """--dry-run, --json, the command's own flags, --verbose, --break-lock."""
    return (DRY_RUN, flag("json"), *own, flag("verbose"), flag("break_lock"))


def force(help: str) -> Flag:
    return flag("force", help=help)


COMMANDS = [
    Command("start", "start the stopped nodes with bin/wso2server.sh (manager first, then workers); wait until "
                     "each is up;\n    a node whose files verify shows drifted is refused (fix: "
                     "setup-worker/-manager), unless --force",
            flags(force("start a node even where verify shows drift in its node steps")),
            dry_run_or(Mode.PATCH), in_order(start), group="lifecycle", order=10, targets=ESB,
            loads=COMMANDS_MODULE),
    Command("stop", "stop the running nodes (workers first) by TERM through bin/wso2server.sh --stop",
            flags(force("KILL a server still running after [run].stop_timeout; stop even the last serving worker "
                        "behind the balancer (the service is down)")),
            dry_run_or(Mode.PATCH), in_order(stop), group="lifecycle", order=20, targets=ESB,
            loads=COMMANDS_MODULE),
    Command("restart", "stop, then start, node by node; each worker out of the balancer meanwhile (never the last "
                       "serving one)",
            flags(force("KILL a server still running after [run].stop_timeout; restart even the last serving "
                        "worker (requests fail meanwhile)")),
            dry_run_or(Mode.PATCH), restart, group="lifecycle", order=30, targets=ESB, loads=COMMANDS_MODULE),
    Command("status", "running or stopped, pid and since when, ports, members seen, restart needed; read-only (exit "
                      "as verify)",
            (flag("json"), flag("verbose")), always(Mode.VERIFY), in_order(status), group="lifecycle", order=40,
            targets=ESB, loads=("lifecycle.status",)),
    Command("rolling-restart", "one node at a time, each worker out of the balancer while it restarts; the manager "
                               "alone; no request lost",
            flags(flag("needed", help="only the nodes whose files changed after they started")),
            dry_run_or(Mode.PATCH), rolling_restart, group="lifecycle", order=50, targets=ESB,
            loads=("lifecycle.roll",)),
    Command("drain", "take workers out of the balancer (down in every upstream, nginx -t, reload) and wait "
                     "[run].drain_seconds",
            flags(flag("undo", help="put the workers back into the balancer"),
                  force("drain even the last serving worker (the service is down)")),
            dry_run_or(Mode.PATCH), drain, group="lifecycle", order=60, targets=ESB, loads=COMMANDS_MODULE),
]
