"""A row's JSON form (tasks/engine/results.py) and the document around it (the Reporter): every row
carries `fields` (data beside its message), secrets never show in them, the document names its
command."""
from __future__ import annotations

import io
import json

import pytest

from tasks.engine.mode import Mode
from tasks.engine.plan import Item
from tasks.engine.report import Reporter
from tasks.engine.results import Status, StepResult, row_fields
from tasks.secrets import MASK, Secrets, redact_data

SECRET = "Pässwörd-ñ€-17"  # non-ASCII: its UTF-8 bytes are no ASCII text


@pytest.fixture
def fresh_masks(monkeypatch):
    """The module's masks as they were, after the test."""
    import tasks.secrets as mod
    monkeypatch.setattr(mod, "_known", set(mod._known))
    monkeypatch.setattr(mod, "_words", set(mod._words))
    monkeypatch.setattr(mod, "_word_pattern", mod._word_pattern)


def test_every_row_carries_host_step_status_and_the_files_its_items_name():
    r = StepResult("esb-w1", "patch-axis2", Status.DRIFT,
                   [Item("axis2.xml", "clustering/@enable", "true", "false"),
                    Item("axis2.xml", "localMemberPort", "4200", "4000"), Item("carbon.xml", "HostName", "a", "b")])
    assert r.as_dict()["fields"] == {"host": "esb-w1", "step": "patch-axis2", "status": "drift",
                                     "files": ["axis2.xml", "carbon.xml"]}
    assert r.as_dict()["items"][0] == {"file": "axis2.xml", "what": "clustering/@enable", "wanted": "true",
                                       "actual": "false"}
    bare = StepResult("esb-w1", "status", Status.OK).as_dict()
    assert bare["fields"] == {"host": "esb-w1", "step": "status", "status": "ok", "files": []}


def test_a_producers_fields_join_the_common_ones_and_warnings_name_their_files():
    r = StepResult("esb-mgr", "start", Status.CHANGED, warnings=[Item("wso2carbon.jks", "key", "own", "shipped")],
                   fields={"action": "start", "pid": 4242, "status": "changed"})
    f = r.as_dict()["fields"]
    assert f["action"] == "start" and f["pid"] == 4242 and f["warning_files"] == ["wso2carbon.jks"]
    assert json.loads(json.dumps(f)) == f  # plain JSON data


def test_no_secret_shows_in_fields_keys_values_or_nested_lists(fresh_masks):
    Secrets({"WSO2_DB_PASSWORD": SECRET})
    r = StepResult("esb-w1", "deploy", Status.FAILED, message=f"login with {SECRET} refused",
                   fields={"last_error": f"E170001: {SECRET}", "lag_reasons": [f"pw {SECRET}"],
                           SECRET: {"nested": (SECRET, 3)}, "members": {SECRET}})
    text = json.dumps(r.as_dict(), ensure_ascii=False)
    ascii_text = json.dumps(r.as_dict())
    assert SECRET not in text and SECRET.encode("utf-8").decode("latin-1") not in text
    assert json.dumps(SECRET)[1:-1] not in ascii_text  # nor its \u escapes
    f = r.as_dict()["fields"]
    assert f["last_error"] == f"E170001: {MASK}" and f["lag_reasons"] == [f"pw {MASK}"]
    assert f[MASK] == {"nested": [MASK, 3]} and f["members"] == [MASK]


def test_redact_data_keeps_numbers_booleans_and_none():
    assert redact_data({"pid": 12, "up": True, "since": None, "ports": [9443, 8243]}) == \
        {"pid": 12, "up": True, "since": None, "ports": [9443, 8243]}


def document(reporter: Reporter) -> dict:
    reporter.out = io.StringIO()
    reporter.finish()
    return json.loads(reporter.out.getvalue())


@pytest.mark.parametrize("mode,tasks,named,want", [
    (Mode.PATCH, ["patch-axis2"], [], "patch"),  # a step in a mode: the mode
    (Mode.DRY_RUN, ["patch-axis2", "enable-depsync"], [], "dry-run"),
    (Mode.VERIFY, ["status"], ["status"], "status"),  # a command of its own: its name
    (Mode.PATCH, ["start"], ["start"], "start"),
    (Mode.DRY_RUN, ["rollback"], ["rollback"], "rollback"),
    (Mode.PATCH, ["deploy"], ["deploy"], "deploy"),
    (Mode.PATCH, ["stop", "start"], ["stop", "start"], "patch"),  # two commands: the mode, tasks name both
    (Mode.PATCH, ["patch-axis2", "start"], ["start"], "patch"),
])
def test_the_documents_mode_names_the_command_it_reports(mode, tasks, named, want):
    rep = Reporter(mode, as_json=True)
    for t in tasks:
        rep.ran(t, t in named)
    rep.emit(StepResult("esb-w1", tasks[0], Status.OK))
    doc = document(rep)
    assert doc["mode"] == want and doc["tasks"] == tasks and doc["command"] == " ".join(tasks)
    assert doc["dry_run"] is (mode is Mode.DRY_RUN)


def test_a_failed_row_of_a_host_that_could_not_be_reached_says_so_in_its_fields():
    rep = Reporter(Mode.PATCH, as_json=True)
    rep.ran("map-hosts", False)
    rep.emit(StepResult("esb-w1", "map-hosts", Status.FAILED, message="cannot connect"))
    rep.emit(StepResult("esb-w2", "map-hosts", Status.FAILED, message="refused"))
    rep.unreachable = {"esb-w1"}
    doc = document(rep)
    assert doc["hosts"]["esb-w1"]["map-hosts"]["fields"]["unreachable"] is True
    assert "unreachable" not in doc["hosts"]["esb-w2"]["map-hosts"]["fields"]
