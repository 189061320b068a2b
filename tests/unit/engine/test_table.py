"""The verify table and its details (tasks/engine/table.py) and the reporter's text around them."""
from __future__ import annotations

import io
import json

from tasks.engine.plan import Item
from tasks.engine.report import Reporter, StepResult
from tasks.engine.table import details, status_table

ITEM = Item("repository/conf/axis2/axis2.xml", "clustering/parameter[@name='domain']", "a", "b")
WARN = Item("repository/conf/axis2/axis2.xml", "clustering/parameter[@name='localMemberHost']", "non-loopback",
            "127.0.0.2")
RESULTS = [StepResult("esb-mgr", "patch-axis2", "ok"), StepResult("esb-w1", "patch-axis2", "drift", [ITEM]),
           StepResult("esb-mgr", "cluster", "ok", warnings=[WARN]),
           StepResult("esb-w1", "cluster", "failed", message="unreachable")]


def test_rows_are_steps_columns_are_hosts_and_absent_cells_are_dashes():
    assert status_table(RESULTS, ["patch-axis2", "set-proxyports", "cluster"], ["esb-mgr", "esb-w1"]).splitlines() == [
        "step            esb-mgr  esb-w1",
        "patch-axis2     ok       drift",
        "set-proxyports  -        -",
        "cluster         ok*      failed",
        "(* ok with warnings, listed below)",
    ]


def test_details_list_drift_items_then_warnings():
    assert details(RESULTS).splitlines() == [
        "drift:",
        "  [esb-w1] patch-axis2: repository/conf/axis2/axis2.xml: clustering/parameter[@name='domain']: "
        "wanted 'a', actual 'b'",
        "warnings (they do not change the exit status):",
        "  [esb-mgr] cluster: repository/conf/axis2/axis2.xml: clustering/parameter[@name='localMemberHost']: "
        "wanted 'non-loopback', actual '127.0.0.2'",
    ]


def test_warnings_never_change_the_exit_code_and_json_carries_them():
    out = io.StringIO()
    rep = Reporter("verify", as_json=True, out=out)
    rep.table = (["cluster"], ["esb-mgr"])
    rep.emit(RESULTS[2])
    assert rep.finish() == 0
    doc = json.loads(out.getvalue())
    assert doc["steps"] == ["cluster"] and doc["hosts"]["esb-mgr"]["cluster"]["warnings"][0]["actual"] == "127.0.0.2"


def test_text_summary_names_failed_hosts_with_the_reason_and_footer():
    out = io.StringIO()
    rep = Reporter("patch", as_json=False, out=out, progress=False)
    rep.emit(StepResult("esb-w2", "map-hosts", "failed", message="unreachable: refused"))
    rep.footer.append("resume with: fab setup-cluster --resume")
    assert rep.finish() == 1
    assert out.getvalue().splitlines() == ["recap:", "  esb-w2  ok=0 changed=0 failed=1 unreachable=0 skipped=0",
                                           "1 host, 1 step: 1 failed", "failed on: esb-w2",
                                           "    esb-w2: map-hosts: unreachable: refused",
                                           "resume with: fab setup-cluster --resume"]


def test_json_lists_hosts_by_name_whatever_order_they_finished_in():
    out = io.StringIO()
    rep = Reporter("patch", as_json=True, out=out)
    for host, step in (("esb-w2", "map-hosts"), ("esb-mgr", "map-hosts"), ("esb-w2", "patch-axis2"),
                       ("esb-mgr", "patch-axis2"), ("esb-w1", "map-hosts")):
        rep.emit(StepResult(host, step, "ok"))
    rep.finish()
    hosts = json.loads(out.getvalue())["hosts"]
    assert list(hosts) == ["esb-mgr", "esb-w1", "esb-w2"]
    assert list(hosts["esb-w2"]) == ["map-hosts", "patch-axis2"]  # a host's steps keep their run order


def test_warnings_of_one_step_on_one_node_fold_into_one_line_unless_verbose():
    from tasks.engine.plan import Item
    from tasks.engine.report import StepResult
    from tasks.engine.table import details
    many = [Item("repository/conf/carbon.xml", f"Security/Password{i}", "a Secure Vault reference",
                 "a plain-text password") for i in range(14)]
    results = [StepResult("esb-w2", "secure-vault", "ok", warnings=many),
               StepResult("esb-w1", "cluster", "ok", warnings=many[:1]),
               StepResult("esb-w1", "secure-vault", "ok", warnings=many)]
    text = details(results, ["secure-vault", "cluster"])
    lines = text.splitlines()
    assert lines[1:] == [
        "  [esb-w1] secure-vault: 14 warnings: wanted 'a Secure Vault reference', actual 'a plain-text password' "
        "(repository/conf/carbon.xml: Security/Password0 and 13 more; --verbose lists them)",
        "  [esb-w1] cluster: repository/conf/carbon.xml: Security/Password0: wanted 'a Secure Vault reference', "
        "actual 'a plain-text password'",
        "  [esb-w2] secure-vault: 14 warnings: wanted 'a Secure Vault reference', actual 'a plain-text password' "
        "(repository/conf/carbon.xml: Security/Password0 and 13 more; --verbose lists them)"]
    assert len(details(results, ["secure-vault", "cluster"], verbose=True).splitlines()) == 1 + 14 + 1 + 14
