"""The one reporter: progress lines as hosts finish, then text or one JSON document, and the exit code.

Exit codes (CONTRACT §1): 1 when anything failed, else 2 when --verify found
drift, else 0.  All text passes through `redact`.
"""
from __future__ import annotations

import json
import sys
import threading
from dataclasses import dataclass, field

from .plan import Item
from .secrets import redact

STATUSES = ("ok", "changed", "drift", "failed", "skipped")


@dataclass
class StepResult:
    host: str
    step: str
    status: str
    items: list[Item] = field(default_factory=list)
    message: str = ""
    diff: str = ""
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        d = {"status": self.status, "items": [i.as_dict() for i in self.items],
             "message": redact(self.message)}
        if self.diff:
            d["diff"] = self.diff
        if self.notes:
            d["notes"] = [redact(n) for n in self.notes]
        return d


def exit_code(results: list[StepResult], mode: str) -> int:
    if any(r.status == "failed" for r in results):
        return 1
    if mode == "verify" and any(r.status == "drift" for r in results):
        return 2
    return 0


class Reporter:
    """Prints per host/step progress (text mode) and the final report."""

    def __init__(self, mode: str, as_json: bool, out=None, err=None):
        self.mode = mode
        self.as_json = as_json
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self._lock = threading.Lock()
        self.results: list[StepResult] = []
        self.extra: dict = {}

    def emit(self, r: StepResult) -> None:
        """Record a result and, in text mode, print it at once."""
        with self._lock:
            self.results.append(r)
            if self.as_json:
                return
            self.out.write(self._text(r))
            self.out.flush()

    def _text(self, r: StepResult) -> str:
        label = r.status
        if self.mode == "dry-run" and r.status == "changed":
            label = "would change"
        head = f"[{r.host}] {r.step}: {label}"
        if r.items:
            head += f" ({len(r.items)} item{'s' if len(r.items) != 1 else ''})"
        if r.message:
            head += f": {r.message}"
        lines = [redact(head)]
        if r.status in ("drift", "changed") and (self.mode != "dry-run" or not r.diff):
            lines += [f"    {i.line()}" for i in r.items]
        lines += [f"    note: {redact(n)}" for n in r.notes]
        if r.diff:
            lines.append(r.diff.rstrip("\n"))
        return "\n".join(lines) + "\n"

    def error(self, message: str) -> None:
        """A fault before any host ran (bad hosts.toml, unknown target)."""
        if self.as_json:
            self.out.write(json.dumps({"mode": self.mode, "error": redact(message), "hosts": {},
                                       "exit": 1}, indent=2) + "\n")
        else:
            self.err.write(f"error: {redact(message)}\n")

    def finish(self) -> int:
        """Print the summary or the JSON document; return the exit code."""
        code = exit_code(self.results, self.mode)
        if self.as_json:
            hosts: dict = {}
            for r in self.results:
                hosts.setdefault(r.host, {})[r.step] = r.as_dict()
            doc = {"mode": self.mode, "hosts": hosts, "summary": self.counts(), "exit": code, **self.extra}
            self.out.write(json.dumps(doc, indent=2) + "\n")
        else:
            counts = self.counts()
            hosts = sorted({r.host for r in self.results})
            summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
            self.out.write(f"{len(hosts)} host{'s' if len(hosts) != 1 else ''}: {summary or 'nothing to do'}\n")
            failed = sorted({r.host for r in self.results if r.status == "failed"})
            if failed:
                self.out.write(f"failed on: {', '.join(failed)}\n")
        self.out.flush()
        return code

    def counts(self) -> dict:
        return {s: sum(1 for r in self.results if r.status == s) for s in STATUSES}
