"""The verify table: one row per step (and the `cluster` pseudo-step), one column per host.

A cell is the step's status on that host (ok, drift, failed, skipped), `ok*` when it
carries warnings, and `-` where the step does not run on that host.  Pure text
functions over StepResults; `details` lists the drift items and warnings under it.
"""
from __future__ import annotations

from typing import Iterable

from ..secrets import redact
from .recap import sized_items
from .results import Status, StepResult

NOT_RUN = "-"


def cell(r: StepResult | None) -> str:
    """The table text for one result."""
    if r is None:
        return NOT_RUN
    return r.status + ("*" if r.warnings and r.status == Status.OK else "")


def status_table(results: Iterable[StepResult], steps: list[str], hosts: list[str]) -> str:
    """Rows = steps in the given order, columns = hosts; padded plain text, no trailing spaces."""
    by_key = {(r.host, r.step): r for r in results}
    rows = [["step", *hosts]] + [[s, *(cell(by_key.get((h, s))) for h in hosts)] for s in steps]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)).rstrip() for row in rows]
    if any(r.warnings for r in by_key.values()):
        lines.append("(* ok with warnings, listed below)")
    return "\n".join(lines)


def details(results: Iterable[StepResult], steps: list[str] | None = None, verbose: bool = False,
            hosts: list[str] | None = None) -> str:
    """The drift items and the warnings of every result, by host (in `hosts` order: hosts.toml's;
    else by name), then step in the table's order (a stable order, whatever order the hosts finished
    in). Without `verbose`, the warnings of one step on one node fold into one line (secure-vault
    alone has a dozen on a node with hardening off), and a step's drift past a few items into a count
    per file."""
    order = {s: i for i, s in enumerate(steps or [])}
    place = {h: i for i, h in enumerate(hosts or [])}
    drift, warn, passed = [], [], []
    for r in sorted(results, key=lambda r: (place.get(r.host, len(place)), r.host, order.get(r.step, len(order)),
                                            r.step)):
        if r.status == Status.DRIFT:
            drift += [f"  [{r.host}] {r.step}: {line}" for line in sized_items(r.items, verbose)]
        if verbose or len(r.warnings) <= 1:
            warn += [f"  [{r.host}] {r.step}: {i.line()}" for i in r.warnings]
        else:
            shown = [i.as_dict() for i in r.warnings]  # masked as each item says
            first = shown[0]
            kinds = {(d["wanted"], d["actual"]) for d in shown}
            same = f": wanted {first['wanted']!r}, actual {first['actual']!r}" if len(kinds) == 1 else ""
            warn.append(f"  [{r.host}] {r.step}: {len(shown)} warnings{same} ({first['file']}: {first['what']} and "
                        f"{len(shown) - 1} more; --verbose lists them)")
        passed += [f"  [{r.host}] {r.step} {p}" for p in r.passed]
    out = ""
    if passed:
        out += "passed:\n" + "\n".join(passed) + "\n"
    if drift:
        out += "drift:\n" + "\n".join(drift) + "\n"
    if warn:
        out += "warnings (they do not change the exit status):\n" + "\n".join(warn) + "\n"
    return redact(out)
