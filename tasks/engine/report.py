"""The one reporter: progress lines as hosts finish, then text or one
JSON document, and the exit code.

Exit codes (CONTRACT §1): 1 when anything failed, else 2 when --verify found
drift, else 0.  All text passes through `redact`.
"""
from __future__ import annotations

import json
import sys
import threading
from .mode import Mode
from .results import STATUSES, Status, StepResult
from ..secrets import redact
from .table import details, status_table

__all__ = ["STATUSES", "Status", "StepResult", "exit_code", "Reporter"]



def exit_code(results: list[StepResult], mode: Mode | str) -> int:
    """1 when anything failed, else 2 when verify found drift, else 0 (warnings never count)."""
    if any(r.status == Status.FAILED for r in results):
        return 1
    if Mode(mode) is Mode.VERIFY and any(r.status == Status.DRIFT for r in results):
        return 2
    return 0


class Reporter:
    """Prints per host/step progress (text mode) and the final report.

    `table = (steps, hosts)` turns the text report into the verify table (host by step);
    `footer` lines follow the text summary; `extra` keys join the JSON document."""

    def __init__(self, mode: Mode | str, as_json: bool, out=None, err=None, progress: bool = True):
        self.mode = Mode(mode)
        self.as_json = as_json
        self.progress = progress
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self._lock = threading.Lock()
        self.results: list[StepResult] = []
        self.extra: dict = {}
        self.footer: list[str] = []
        self.table: tuple[list[str], list[str]] | None = None
        self.verbose = False  # verify --verbose: every warning on its own line
        self._queue: list[str] = []  # hosts whose progress lines print in this order (each host's together)
        self._held: dict[str, list[str]] = {}
        self._done: set[str] = set()

    def emit(self, r: StepResult) -> None:
        """Record a result and, in text mode, print it: at once, or (hosts working in
        parallel, see `hosts`) with the rest of its host's lines, hosts in hosts.toml order,
        whatever order they finish in."""
        with self._lock:
            self.results.append(r)
            if self.as_json or not self.progress:
                return
            if r.host in self._held:
                self._held[r.host].append(self._text(r))
                return
            self.out.write(self._text(r))
            self.out.flush()

    def hosts(self, names: list[str]) -> None:
        """These hosts work in parallel: hold each one's lines until it is done, print them host by
        host in this order (a stable order, lines of one host together)."""
        with self._lock:
            self._queue = list(names)
            self._held = {n: [] for n in names}
            self._done = set()

    def host_done(self, name: str) -> None:
        """A host of `hosts` finished: print what can be printed in order."""
        with self._lock:
            self._done.add(name)
            while self._queue and self._queue[0] in self._done:
                head = self._queue.pop(0)
                self.out.write("".join(self._held.pop(head, [])))
            self.out.flush()

    def release(self) -> None:
        """Print whatever is still held (the parallel work ended)."""
        with self._lock:
            for name in self._queue:
                self.out.write("".join(self._held.pop(name, [])))
            self._queue, self._held, self._done = [], {}, set()
            self.out.flush()

    def label(self, status: str) -> str:
        """A status in the words of this mode: a dry-run's `changed` is `would change`,
        a rollback's `rolled back`."""
        if status == Status.CHANGED and self.mode is Mode.DRY_RUN:
            return "would change"
        if status == Status.CHANGED and self.mode is Mode.ROLLBACK:
            return "rolled back"
        return status

    def _text(self, r: StepResult) -> str:
        label = self.label(r.status)
        head = f"[{r.host}] {r.step}: {label}"
        if r.items:
            head += f" ({len(r.items)} item{'s' if len(r.items) != 1 else ''})"
        if r.message:
            head += f": {r.message}"
        lines = [redact(head)]
        if r.status in (Status.DRIFT, Status.CHANGED) and (self.mode is not Mode.DRY_RUN or not r.diff):
            lines += [f"    {i.line()}" for i in r.items]
        lines += [f"    note: {redact(n)}" for n in r.notes]
        lines += [f"    warning: {i.line()}" for i in r.warnings]
        if r.diff:
            lines.append(r.diff.rstrip("\n"))
        return "\n".join(lines) + "\n"

    def note(self, message: str) -> None:
        """A line about the run itself (text: at once on stdout; JSON: in `notes`)."""
        with self._lock:
            self.extra.setdefault("notes", []).append(redact(message))
            if not self.as_json:
                self.out.write(f"{redact(message)}\n")
                self.out.flush()

    def error(self, message: str) -> None:
        """A fault before any host ran (bad hosts.toml, unknown target)."""
        if self.as_json:
            self.out.write(json.dumps({"mode": self.mode.value, "error": redact(message), "hosts": {},
                                       "exit": 1}, indent=2) + "\n")
        else:
            self.err.write(f"error: {redact(message)}\n")

    def finish(self) -> int:
        """Print the summary or the JSON document; return the exit code."""
        code = exit_code(self.results, self.mode)
        if self.as_json:
            hosts: dict = {}
            for r in sorted(self.results, key=lambda r: r.host):  # hosts by name, whatever order they finished in
                hosts.setdefault(r.host, {})[r.step] = r.as_dict()
            doc = {"mode": self.mode.value, "hosts": hosts, "summary": self.counts(), "exit": code, **self.extra}
            if self.table:
                doc["steps"] = self.table[0]
            self.out.write(json.dumps(doc, indent=2) + "\n")
        else:
            if self.table:
                self.out.write(status_table(self.results, *self.table) + "\n\n")
                self.out.write(details(self.results, self.table[0], self.verbose))
            counts = self.counts()
            names = sorted({r.host for r in self.results})
            summary = ", ".join(f"{n} {self.label(s)}" for s, n in counts.items() if n)
            self.out.write(f"{len(names)} host{'s' if len(names) != 1 else ''}: {summary or 'nothing to do'}\n")
            failed: dict[str, str] = {}
            for r in self.results:
                if r.status == Status.FAILED:
                    failed.setdefault(r.host, f"{r.step}: {redact(r.message)}")
            if failed:
                self.out.write(f"failed on: {', '.join(sorted(failed))}\n")
                self.out.write("".join(f"    {h}: {why}\n" for h, why in sorted(failed.items())))
            self.out.write("".join(f"{redact(line)}\n" for line in self.footer))
        self.out.flush()
        return code

    def counts(self) -> dict:
        """Results per status."""
        return {s: sum(1 for r in self.results if r.status == s) for s in STATUSES}
