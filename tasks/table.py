"""The verify table: one row per step (and the `cluster` pseudo-step), one column per host.

A cell is the step's status on that host (ok, drift, failed, skipped), `ok*` when it
carries warnings, and `-` where the step does not run on that host.  Pure text
functions over StepResults; `details` lists the drift items and warnings under it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from .secrets import redact

if TYPE_CHECKING:  # pragma: no cover
    from .report import StepResult

NOT_RUN = "-"


def cell(r: "StepResult | None") -> str:
    """The table text for one result."""
    if r is None:
        return NOT_RUN
    return r.status + ("*" if r.warnings and r.status == "ok" else "")


def status_table(results: Iterable["StepResult"], steps: list[str], hosts: list[str]) -> str:
    """Rows = steps in the given order, columns = hosts; padded plain text, no trailing spaces."""
    by_key = {(r.host, r.step): r for r in results}
    rows = [["step", *hosts]] + [[s, *(cell(by_key.get((h, s))) for h in hosts)] for s in steps]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in rows]
    if any(r.warnings for r in by_key.values()):
        lines.append("(* ok with warnings, listed below)")
    return "\n".join(lines)


def details(results: Iterable["StepResult"]) -> str:
    """The drift items and the warnings of every result, one line each, by host then step."""
    drift, warn, passed = [], [], []
    for r in sorted(results, key=lambda r: r.host):
        if r.status == "drift":
            drift += [f"  [{r.host}] {r.step}: {i.line()}" for i in r.items]
        warn += [f"  [{r.host}] {r.step}: {i.line()}" for i in r.warnings]
        passed += [f"  [{r.host}] {r.step} {p}" for p in r.passed]
    out = ""
    if passed:
        out += "passed:\n" + "\n".join(passed) + "\n"
    if drift:
        out += "drift:\n" + "\n".join(drift) + "\n"
    if warn:
        out += "warnings (they do not change the exit status):\n" + "\n".join(warn) + "\n"
    return redact(out)
