"""The one reporter: progress lines as hosts finish, then text or one
JSON document, and the exit code. Hosts in hosts.toml order everywhere (`order`); the text ends
with a per-host recap and one summary (recap.py).

Exit codes (CONTRACT §1): 1 when anything failed, else 2 when --verify found
drift, else 0.  All text passes through `redact`.
"""
from __future__ import annotations

import json
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable
from .mode import Mode
from .results import STATUSES, Status, StepResult
from ..secrets import redact
from .recap import hosts_of, in_order, recap_counts, recap_lines, sized_items, summary_line
from .table import details, status_table

__all__ = ["STATUSES", "Status", "StepResult", "exit_code", "Reporter", "View"]



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
        self.verbose = False  # --verbose: every item and warning on its own line
        self.show_diff = False  # --diff: a patch shows the unified diff of what it applied
        self.brief = False  # an umbrella's patch: a changed row is its one line (items: --verbose)
        self.order: list[str] = []  # hosts.toml's host names: every list of hosts follows it
        self.unreachable: set[str] = set()  # hosts that could not be reached: their failures are `unreachable`
        self.prefix = ""  # `verify: ` where one command line runs several modes
        self._one_row = False  # the held hosts each report one row (lifecycle): a host is done at its row
        self._queue: list[str] = []  # hosts whose progress lines print in this order (each host's together)
        self._held: dict[str, list[str]] = {}
        self._done: set[str] = set()
        self.tasks: list[str] = []  # the tasks of the command line this document reports, in order
        self.commands: list[str] = []  # those that are no mode of a step (start, deploy): the document's mode

    def ran(self, task: str, names_mode: bool) -> None:
        """The task `task` reports here; `names_mode`: it is a command of its own (status, start,
        rollback, deploy), not a step run in a mode, and the JSON document's mode names it."""
        if task:
            self.tasks.append(task)
            if names_mode:
                self.commands.append(task)

    def doc_mode(self) -> str:
        """The JSON document's `mode`: the command where the document reports one command of its own
        (`status`, `start`, `rollback`, `deploy`), else the mode the steps ran in (patch, verify,
        dry-run; `rollback` for a rollback)."""
        named = set(self.commands)
        if len(named) == 1 and len(set(self.tasks)) == 1:
            return self.commands[0]
        return self.mode.value

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
                if self._one_row:
                    self._flush_done(r.host)
                return
            self.out.write(self._text(r))
            self.out.flush()

    def hosts(self, names: list[str], one_row: bool = False) -> None:
        """These hosts work in parallel: hold each one's lines until it is done, print them host by
        host in hosts.toml order (a stable order, lines of one host together). `one_row`: each host
        reports one row (start, stop, status), and is done with it."""
        with self._lock:
            self._queue = sorted(names, key=self._key) if self.order else list(names)
            self._held = {n: [] for n in names}
            self._done = set()
            self._one_row = one_row

    def _key(self, name: str) -> tuple:
        place = {n: i for i, n in enumerate(self.order)}
        return place.get(name, len(place)), name

    def host_done(self, name: str) -> None:
        """A host of `hosts` finished: print what can be printed in order."""
        with self._lock:
            self._flush_done(name)

    def _flush_done(self, name: str) -> None:
        self._done.add(name)
        while self._queue and self._queue[0] in self._done:
            head = self._queue.pop(0)
            self.out.write("".join(self._held.pop(head, [])))
        self.out.flush()

    def rows_in_order(self, names: list[str], work: Callable[[], object]) -> None:
        """Run work (a row per host, hosts in parallel) with its rows printed in hosts.toml order, each
        as soon as the hosts before it have theirs, whatever order they finish in."""
        self.hosts(names, one_row=True)
        try:
            work()
        finally:
            self.release()

    def release(self) -> None:
        """Print whatever is still held (the parallel work ended)."""
        with self._lock:
            for name in self._queue:
                self.out.write("".join(self._held.pop(name, [])))
            self._queue, self._held, self._done, self._one_row = [], {}, set(), False
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
        shows_diff = bool(r.diff) and (self.mode is Mode.DRY_RUN or self.show_diff)  # what was applied: --diff
        folded = self.brief and r.status == Status.CHANGED and not self.verbose  # drift needs attention: shown
        if r.status in (Status.DRIFT, Status.CHANGED) and not shows_diff and not folded:
            lines += [f"    {line}" for line in sized_items(r.items, self.verbose)]
        lines += [f"    note: {redact(n)}" for n in r.notes]
        lines += [f"    warning: {i.line()}" for i in r.warnings]
        if shows_diff:
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
            for r in in_order(self.results, self.order):  # hosts.toml order, whatever order they finished in
                row = r.as_dict()
                if self.mode is not Mode.DRY_RUN and not self.show_diff:
                    row.pop("diff", None)  # what a patch (or rollback) applied, as a diff: asked for with --diff
                if r.status == Status.FAILED and r.host in self.unreachable:
                    row["fields"]["unreachable"] = True
                hosts.setdefault(r.host, {})[r.step] = row
            # a command that is no mode of a step (status) names itself: "mode": "status", not "verify"
            mode = self.doc_mode()
            doc = {"mode": mode, "command": " ".join(self.tasks), "tasks": list(self.tasks),
                   "dry_run": self.mode is Mode.DRY_RUN, "hosts": hosts, "summary": self.counts(), "exit": code,
                   "recap": self.recap(), **self.extra}
            if self.table:
                doc["steps"] = self.table[0]
            self.out.write(json.dumps(doc, indent=2) + "\n")
        else:
            if self.table:
                self.out.write(status_table(self.results, *self.table) + "\n\n")
                self.out.write(details(self.results, self.table[0], self.verbose, self.order or self.table[1]))
            recap = recap_lines(self.recap(), self.label)
            if recap:
                self.out.write(f"{self.prefix}recap:\n" + "".join(f"  {line}\n" for line in recap))
            self.out.write(summary_line(self.results, self.label, self.prefix) + "\n")
            failed: dict[str, str] = {}
            for r in in_order(self.results, self.order):
                if r.status == Status.FAILED:
                    failed.setdefault(r.host, f"{r.step}: {redact(r.message)}")
            if failed:
                self.out.write(f"failed on: {', '.join(failed)}\n")
                self.out.write("".join(f"    {h}: {why}\n" for h, why in failed.items()))
            self.out.write("".join(f"{redact(line)}\n" for line in self.footer))
        self.out.flush()
        return code

    def counts(self) -> dict:
        """Results per status."""
        return {s: sum(1 for r in self.results if r.status == s) for s in STATUSES}

    def recap(self) -> dict[str, dict[str, int]]:
        """Per host (hosts.toml order): ok, changed (drift in a verify), failed, unreachable, skipped."""
        return recap_counts(self.results, self.order, self.unreachable, self.mode)

    def host_names(self) -> list[str]:
        """The hosts reported, in hosts.toml order."""
        return hosts_of(self.results, self.order)


@dataclass(frozen=True)
class View:
    """How much a task's report shows: --verbose (every item), --diff (what a patch applied), brief
    (an umbrella's patch: a changed row is its one line; what needs attention, the recap and the
    summary follow)."""

    verbose: bool = False
    diff: bool = False
    brief: bool = False

    @contextmanager
    def on(self, reporter: "Reporter", order: list[str]):
        """The reporter shows this task's rows this way (hosts in hosts.toml order); a flag given to one
        task of the command line stays on for the rest of it, brief only for this task."""
        reporter.order = list(order)
        reporter.verbose = reporter.verbose or self.verbose
        reporter.show_diff = reporter.show_diff or self.diff
        was, reporter.brief = reporter.brief, self.brief
        try:
            yield
        finally:
            reporter.brief = was
