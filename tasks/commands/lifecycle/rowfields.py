"""What a lifecycle row (start, stop, restart, rolling-restart, drain) says as data: its `fields`
(issue 31), pure functions of what the task saw and did. A node's row carries the action taken
(`start`, `stop`, `kill`, `restart`, `none`; `drain`, `undrain` for drain), the server's state before
and after (`running`, `stopped`; after is what it would be in a dry-run), its pid before and after,
and, for a worker behind a balancer, where it stands there at the end (`in`, `out`, `drained`)."""
from __future__ import annotations

RUNNING = "running"
STOPPED = "stopped"


def state_word(running: bool) -> str:
    """`running` or `stopped`."""
    return RUNNING if running else STOPPED


def node_fields(action: str, before: bool, after: bool, pid_before: int | None = None, pid: int | None = None,
                balancer: str | None = None, **more: object) -> dict:
    """A node's row: action, state before and after (running or not), pid before and after, its place in
    the balancer (None: not a worker behind one), and what else the task adds."""
    out: dict[str, object] = {"action": action, "state_before": state_word(before), "state_after": state_word(after),
                              "pid_before": pid_before, "pid": pid if after else None, "balancer": balancer}
    out.update(more)
    return out


def balancer_place(is_worker: bool, has_lb: bool, drained: bool, out: bool = False) -> str | None:
    """Where a worker stands in the balancer at the end of its row: `drained` (fab drain took it out and
    it stays out), `out` (taken out: stopped, or left out after a failed turn), `in`; None for the
    manager or without an lb host."""
    if not is_worker or not has_lb:
        return None
    return "drained" if drained else "out" if out else "in"


def stop_action(message: str) -> str:
    """The action a stop's message says it took: `kill` (KILL after the timeout, --force), `stop`, or
    `none` (it was not running)."""
    return "kill" if message.startswith("killed") else "stop" if message.startswith("stopped") else "none"
