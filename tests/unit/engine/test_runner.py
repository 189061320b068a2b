"""What the runner puts in a step row's fields (tasks/engine/runner.py): the files patch writes and the
commands it runs, what would make it refuse, a failure's cause as a code."""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from tasks.engine.context import StepError
from tasks.engine.mode import Mode
from tasks.engine.plan import FileChange, Item, Op, Plan
from tasks.engine.runner import error_code, plan_fields
from tasks.formats.xmldoc import XmlError
from tasks.remote.common import RemoteError, Unreachable
from tasks.secrets import MASK, SecretMissing, Secrets


@dataclass(frozen=True)
class Say(Op):
    text: str

    def describe(self) -> str:
        return self.text


def plan() -> Plan:
    return Plan(items=[Item("/etc/hosts", "carbondb", "10.0.0.2", None)],
                files=[FileChange("/etc/hosts", b"a\n", b"a\nb\n"), FileChange("/opt/x.xml", None, b"<x/>")],
                actions=[Say("nginx -s reload")], refusals=["a link at /opt/x.xml"])


@pytest.mark.parametrize("mode", [Mode.PATCH, Mode.DRY_RUN])
def test_patch_and_dry_run_rows_name_the_files_written_and_the_commands(mode):
    assert plan_fields(plan(), mode) == {"changed_files": ["/etc/hosts", "/opt/x.xml"],
                                         "commands": ["nginx -s reload"], "would_refuse": ["a link at /opt/x.xml"]}


def test_a_verify_row_names_no_writes_its_items_say_what_differs():
    assert plan_fields(plan(), Mode.VERIFY) == {"would_refuse": ["a link at /opt/x.xml"]}
    assert plan_fields(Plan(), Mode.VERIFY) == {}


def test_a_steps_own_fields_join_and_secrets_in_commands_are_masked(monkeypatch):
    import tasks.secrets as mod
    monkeypatch.setattr(mod, "_known", set(mod._known))
    Secrets({"SVN_PASSWORD": "sëcret-ünicode-9"})
    p = Plan(actions=[Say("svn passwd sëcret-ünicode-9")], fields={"run": "R1"})
    assert plan_fields(p, Mode.DRY_RUN) == {"changed_files": [], "commands": [f"svn passwd {MASK}"], "run": "R1"}


@pytest.mark.parametrize("error,code", [
    (Unreachable("esb-w1: no route"), "unreachable"), (RemoteError("esb-w1: cp failed"), "remote"),
    (SecretMissing("WSO2_DB_PASSWORD is not set"), "secret"), (XmlError("axis2.xml does not parse"), "malformed"),
    (StepError("a link; refused"), "refused"),
])
def test_a_failure_is_a_code(error, code):
    assert error_code(error) == code
