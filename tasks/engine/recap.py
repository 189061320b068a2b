"""The end of every command's text report, as pure functions over StepResults: the per-host recap
(Ansible's PLAY RECAP: `esb-mgr  ok=3 changed=2 failed=0 unreachable=0 skipped=0`), the summary
line (`3 hosts, 24 steps: 20 changed, 4 ok`), hosts in hosts.toml order, and a step's items sized
to the change (a per-file count past a few items).
"""
from __future__ import annotations

from typing import Iterable

from .mode import Mode
from .plan import Item
from .results import STATUSES, Status, StepResult

#: a step-host with more items than this shows a count per file (`--verbose` lists every item)
MAX_ITEMS = 5


def order_key(order: list[str]):
    """Sort key of a host name: its place in hosts.toml, then (a name hosts.toml lacks) by name."""
    place = {n: i for i, n in enumerate(order)}
    return lambda name: (place.get(name, len(place)), name)


def in_order(results: Iterable[StepResult], order: list[str]) -> list[StepResult]:
    """The results grouped by host in hosts.toml order; a host's results keep their run order."""
    key = order_key(order)
    return sorted(results, key=lambda r: key(r.host))


def hosts_of(results: Iterable[StepResult], order: list[str]) -> list[str]:
    """The hosts that have a result, in hosts.toml order."""
    return sorted({r.host for r in results}, key=order_key(order))


def recap_columns(mode: Mode, results: list[StepResult]) -> list[str]:
    """The recap's counters: Ansible's five, with `drift` for `changed` in a verify (and beside it
    wherever a drift row shows up)."""
    middle = ["drift"] if mode is Mode.VERIFY else ["changed"]
    if mode is not Mode.VERIFY and any(r.status == Status.DRIFT for r in results):
        middle.append("drift")
    return ["ok", *middle, "failed", "unreachable", "skipped"]


def recap_counts(results: list[StepResult], order: list[str], unreachable: Iterable[str] = (),
                 mode: Mode = Mode.PATCH) -> dict[str, dict[str, int]]:
    """Per host (hosts.toml order), per counter: its results; a failed row of a host that could not be
    reached (or refused our credentials) counts as `unreachable`, not `failed`."""
    gone = set(unreachable)
    columns = recap_columns(mode, results)
    out: dict[str, dict[str, int]] = {}
    for h in hosts_of(results, order):
        counts = dict.fromkeys(columns, 0)
        for r in results:
            if r.host != h:
                continue
            key = "unreachable" if r.status == Status.FAILED and h in gone else r.status.value
            counts[key] = counts.get(key, 0) + 1
        out[h] = counts
    return out


def recap_lines(counts: dict[str, dict[str, int]], label=str) -> list[str]:
    """One aligned line per host: `esb-mgr  ok=3 changed=2 failed=0 unreachable=0 skipped=0`; `label`
    words a counter in the run's mode (a dry-run's `would_change`: nothing changed)."""
    if not counts:
        return []
    width = max(len(h) for h in counts)
    word = lambda k: label(k).replace(" ", "_")
    return [f"{h.ljust(width)}  " + " ".join(f"{word(k)}={v}" for k, v in c.items()) for h, c in counts.items()]


def summary_line(results: list[StepResult], label, prefix: str = "") -> str:
    """`3 hosts, 24 steps: 20 changed, 4 ok` (a step is one step on one host); `label` words a status
    in the run's mode; `prefix` names the mode where one command line ran several."""
    hosts = len({r.host for r in results})
    counts = {s: sum(1 for r in results if r.status == s) for s in STATUSES}
    ranked = sorted((s for s in STATUSES if counts[s]), key=lambda s: -counts[s])
    said = ", ".join(f"{counts[s]} {label(s)}" for s in ranked)
    steps = len(results)
    head = f"{hosts} host{'s' if hosts != 1 else ''}, {steps} step{'s' if steps != 1 else ''}"
    return f"{prefix}{head}: {said or 'nothing to do'}"


def sized_items(items: list[Item], verbose: bool = False, limit: int = MAX_ITEMS) -> list[str]:
    """A step-host's items as lines: every one when few (or verbose), else a count per file
    (`repository/conf/axis2/axis2.xml: 12 items`) and how to see them."""
    if verbose or len(items) <= limit:
        return [i.line() for i in items]
    per_file: dict[str, list[Item]] = {}
    for i in items:
        per_file.setdefault(i.as_dict()["file"], []).append(i)
    if len(per_file) == len(items):  # one item a file: a count would say less in as many lines
        return [i.line() for i in items]
    lines = [mine[0].line() if len(mine) == 1 else f"{f}: {len(mine)} items" for f, mine in per_file.items()]
    return lines + ["(--verbose lists every item)"]
