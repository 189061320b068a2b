"""The end of a command's text report (tasks/engine/recap.py and the Reporter around it): the per-host
recap, the summary line, hosts in hosts.toml order, items sized to the change, one summary per mode."""
from __future__ import annotations

import io
import json

from tasks.engine.mode import Mode
from tasks.engine.plan import Item
from tasks.engine.recap import recap_counts, recap_lines, sized_items, summary_line
from tasks.engine.report import Reporter, StepResult

ORDER = ["esb-mgr", "esb-w1", "esb-w2", "db1"]  # hosts.toml's order: not the names' order


def rows(*spec: tuple[str, str, str]) -> list[StepResult]:
    return [StepResult(h, s, st) for h, s, st in spec]


def test_recap_is_one_line_per_host_in_hosts_toml_order_with_ansibles_counters():
    results = rows(("db1", "create-dbs", "changed"), ("esb-w2", "map-hosts", "ok"), ("esb-mgr", "map-hosts", "changed"),
                   ("esb-mgr", "patch-axis2", "failed"), ("esb-mgr", "set-hostnames", "skipped"))
    assert recap_lines(recap_counts(results, ORDER)) == [
        "esb-mgr  ok=0 changed=1 failed=1 unreachable=0 skipped=1",
        "esb-w2   ok=1 changed=0 failed=0 unreachable=0 skipped=0",
        "db1      ok=0 changed=1 failed=0 unreachable=0 skipped=0",
    ]


def test_a_host_that_could_not_be_reached_counts_unreachable_not_failed():
    results = rows(("esb-w2", "map-hosts", "failed"), ("esb-w2", "patch-axis2", "skipped"),
                   ("esb-w1", "map-hosts", "failed"))
    counts = recap_counts(results, ORDER, unreachable={"esb-w2"})
    assert counts["esb-w2"] == {"ok": 0, "changed": 0, "failed": 0, "unreachable": 1, "skipped": 1}
    assert counts["esb-w1"]["failed"] == 1 and counts["esb-w1"]["unreachable"] == 0


def test_a_verify_recap_counts_drift():
    counts = recap_counts(rows(("esb-w1", "patch-axis2", "drift"), ("esb-w1", "map-hosts", "ok")), ORDER,
                          mode=Mode.VERIFY)
    assert counts == {"esb-w1": {"ok": 1, "drift": 1, "failed": 0, "unreachable": 0, "skipped": 0}}


def test_summary_counts_hosts_and_steps_the_largest_count_first():
    results = rows(*[(h, f"s{i}", "changed") for h in ("a", "b", "c") for i in range(7)], ("a", "x", "ok"),
                   ("b", "x", "ok"), ("c", "x", "ok"), ("c", "y", "ok"))
    assert summary_line(results, str) == "3 hosts, 25 steps: 21 changed, 4 ok"
    assert summary_line(rows(("a", "s", "ok")), str, "verify: ") == "verify: 1 host, 1 step: 1 ok"
    assert summary_line([], str) == "0 hosts, 0 steps: nothing to do"


def test_a_step_with_more_than_five_items_shows_a_count_per_file_unless_verbose():
    axis2 = "repository/conf/axis2/axis2.xml"
    items = [Item(axis2, f"p{i}", "a", "b") for i in range(12)] + [Item("carbon.xml", "HostName", "h", None)]
    assert sized_items(items) == [f"{axis2}: 12 items", "carbon.xml: HostName: wanted 'h', actual (absent)",
                                  "(--verbose lists every item)"]  # a file's only item is itself
    seven = [Item(f"/etc/nginx/f{i}.conf", "line 3", "a", None) for i in range(7)]
    assert sized_items(seven) == [i.line() for i in seven]  # one item a file: no count saves a line
    assert sized_items(items, verbose=True) == [i.line() for i in items]
    assert sized_items(items[:5]) == [i.line() for i in items[:5]]  # a few: each one


def report(mode: str, results: list[StepResult], **attrs) -> str:
    out = io.StringIO()
    rep = Reporter(mode, as_json=False, out=out)
    rep.order = ORDER
    for k, v in attrs.items():
        setattr(rep, k, v)
    for r in results:
        rep.emit(r)
    rep.finish()
    return out.getvalue()


def test_the_text_report_ends_with_the_recap_then_the_summary():
    text = report("patch", rows(("esb-w1", "map-hosts", "changed"), ("esb-mgr", "map-hosts", "ok")))
    assert text.splitlines()[-4:] == ["recap:", "  esb-mgr  ok=1 changed=0 failed=0 unreachable=0 skipped=0",
                                      "  esb-w1   ok=0 changed=1 failed=0 unreachable=0 skipped=0",
                                      "2 hosts, 2 steps: 1 ok, 1 changed"]  # a tie: in the statuses' order


def test_a_patch_shows_what_it_applied_as_a_diff_only_with_diff_and_a_brief_row_is_one_line():
    diff = "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n"
    r = StepResult("esb-mgr", "map-hosts", "changed", [Item("/etc/hosts", "x", "b", "a")], diff=diff)
    assert diff not in report("patch", [r]) and "/etc/hosts: x: wanted 'b', actual 'a'" in report("patch", [r])
    assert diff.rstrip() in report("patch", [r], show_diff=True)
    assert report("patch", [r], brief=True).splitlines()[0] == "[esb-mgr] map-hosts: changed (1 item)"
    assert report("patch", [r], brief=True).splitlines()[1] == "recap:"
    assert "wanted 'b'" in report("patch", [r], brief=True, verbose=True)
    drift = StepResult("esb-mgr", "map-hosts", "drift", [Item("/etc/hosts", "x", "b", "a")])
    assert "wanted 'b'" in report("verify", [drift], brief=True)  # drift needs attention: never folded away


def test_json_hosts_follow_hosts_toml_order_and_carry_the_recap_and_a_patch_diff_only_with_diff():
    for show in (False, True):
        out = io.StringIO()
        rep = Reporter("patch", as_json=True, out=out)
        rep.order, rep.show_diff = ORDER, show
        for h in ("db1", "esb-w2", "esb-mgr"):
            rep.emit(StepResult(h, "map-hosts", "changed", diff="--- a/x\n"))
        rep.finish()
        doc = json.loads(out.getvalue())
        assert list(doc["hosts"]) == ["esb-mgr", "esb-w2", "db1"] and list(doc["recap"]) == list(doc["hosts"])
        assert doc["recap"]["db1"]["changed"] == 1
        assert ("diff" in doc["hosts"]["db1"]["map-hosts"]) is show


def test_held_rows_print_in_hosts_toml_order_whatever_order_they_finish_in():
    out = io.StringIO()
    rep = Reporter("verify", as_json=False, out=out)
    rep.order = ORDER
    rep.hosts(["esb-w2", "esb-mgr", "esb-w1"], one_row=True)
    rep.emit(StepResult("esb-w2", "status", "ok"))
    assert out.getvalue() == ""  # esb-mgr, first in hosts.toml, has not answered yet
    rep.emit(StepResult("esb-mgr", "status", "ok"))
    assert out.getvalue() == "[esb-mgr] status: ok\n"  # esb-w1's row still to come: esb-w2 waits
    rep.emit(StepResult("esb-w1", "status", "ok"))
    rep.release()
    assert out.getvalue().splitlines() == ["[esb-mgr] status: ok", "[esb-w1] status: ok", "[esb-w2] status: ok"]


def test_a_dry_run_recap_never_says_changed_nor_a_rollback_recap():
    assert "  esb-w1  ok=0 would_change=1 failed=0 unreachable=0 skipped=0" in report(
        "dry-run", rows(("esb-w1", "map-hosts", "changed"))).splitlines()
    assert "  esb-w1  ok=0 rolled_back=1 failed=0 unreachable=0 skipped=0" in report(
        "rollback", rows(("esb-w1", "map-hosts", "changed"))).splitlines()


def test_what_a_rollback_applied_is_not_printed_as_a_diff_either():
    diff = "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\n+b\n"
    r = StepResult("esb-mgr", "rollback", "changed", [Item("/etc/hosts", "restored", "run 1", None)], diff=diff)
    text = report("rollback", [r])
    assert "@@" not in text and "/etc/hosts: restored" in text
    assert "@@" in report("dry-run", [r])
