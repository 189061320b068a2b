"""What a step (or a check, or a lifecycle task) did on a host: its Status and its StepResult row,
as every reporter and the JSON document show them.

Every row of the JSON document carries `fields`: what it says as data, beside its human `message`
(issue 31): the host, the step (or task), the status and the files its items name, for every row;
then what the row's producer adds (a step's changed files and commands, a lifecycle task's action,
states and pid, a rollback's run and restored files, a deploy's revisions and lag). Every string
in them is redacted like the message."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from .plan import Item
from ..secrets import redact, redact_data


class Status(StrEnum):
    """What a step did on a host (a str: JSON, text and comparisons with the literals are unchanged)."""

    OK = "ok"
    CHANGED = "changed"
    DRIFT = "drift"
    FAILED = "failed"
    SKIPPED = "skipped"


STATUSES = tuple(s.value for s in Status)


@dataclass
class StepResult:
    """One step on one host: status (ok | changed | drift | failed | skipped), items, message."""

    host: str
    step: str
    status: Status
    items: list[Item] = field(default_factory=list)
    message: str = ""
    diff: str = ""
    notes: list[str] = field(default_factory=list)
    warnings: list[Item] = field(default_factory=list)  # reported, but never change the exit code
    passed: list[str] = field(default_factory=list)  # checks that held (live): shown, so one can tell they ran
    also: list["StepResult"] = field(default_factory=list)  # the step's writes on other hosts, each under its host
    fields: dict = field(default_factory=dict)  # what the row says as data (status: state, pid, since, ports, ...)

    def __post_init__(self) -> None:
        self.status = Status(self.status)  # a status that is none of the five is a bug, caught where it is made

    def as_dict(self) -> dict:
        """The JSON form, every text redacted."""
        d: dict[str, object] = {"status": self.status.value, "items": [i.as_dict() for i in self.items],
             "message": redact(self.message)}
        if self.diff:
            d["diff"] = self.diff
        if self.notes:
            d["notes"] = [redact(n) for n in self.notes]
        if self.warnings:
            d["warnings"] = [i.as_dict() for i in self.warnings]
        if self.passed:
            d["passed"] = [redact(p) for p in self.passed]
        d["fields"] = row_fields(self)
        return d


def item_files(items: list[Item]) -> list[str]:
    """The files (or resources) the items name, each once, in the items' order."""
    return list(dict.fromkeys(i.file for i in items))


def row_fields(r: StepResult) -> dict:
    """A row's `fields`: host, step, status, the files its items (and warnings) name, then what its
    producer set in `r.fields` (which wins over the common keys); every string redacted."""
    common: dict[str, object] = {"host": r.host, "step": r.step, "status": r.status.value,
                                 "files": item_files(r.items)}
    if r.warnings:
        common["warning_files"] = item_files(r.warnings)
    return redact_data({**common, **r.fields})  # type: ignore[return-value]
