"""tasks/commands/deploy/proof.py: how a node's poll is judged (a worker at R or later with the bytes and the line
after the file; gone for an undeploy) and what a row carries of the run on the manager."""
from __future__ import annotations

from tasks.commands.deploy import proof as d
from tasks.engine.report import Status
from tasks.formats import capp
from tasks.formats.wcdb import WcNode, WorkingCopy
from tests.unit.helpers import inventory


class FakeSync:
    def last_error(self):
        return "Deployment synchronization update for tenant -1234 failed: E170013"


def proof(sha="s" * 64):
    p = d.Proof(None, None, None, "deploy", "carbonapps/App_1.0.0.car", "App_1.0.0", sha, {})
    p.head, p.rev, p.repo_line = 7, 6, "same bytes since revision 6"
    return p


def wc(rev, file_rev=None):
    nodes = {"": WcNode(rev, "dir", "normal")}
    if file_rev is not None:
        nodes["carbonapps/App_1.0.0.car"] = WcNode(file_rev, "file", "normal")
    return WorkingCopy("svn://x/r/-1234", rev, nodes)


def test_a_worker_holds_at_r_or_later_with_the_bytes_and_the_line_after_the_file():
    inv = inventory()
    w = inv.hosts["esb-w1"]
    ok = d.Seen(wc(7, 6), None, "s" * 64, 1000, (capp.DEPLOYED, 1000.4))
    got = proof().judge(w, FakeSync(), ok)
    assert got.holds and got.line.startswith("revision 6 (repository 7), same bytes, deployed App_1.0.0 at")
    cases = {
        "its copy at revision 5": d.Seen(wc(5, 5), None, "s" * 64, 1000, (capp.DEPLOYED, 1001)),
        "its copy at revision 4": d.Seen(wc(4), None, None, None, None),
        "other bytes on disk": d.Seen(wc(7, 6), None, "t" * 64, 1000, (capp.DEPLOYED, 1001)),
        "logged after the file arrived": d.Seen(wc(7, 6), None, "s" * 64, 1000, (capp.DEPLOYED, 999.0)),
        "no working copy": d.Seen(None, None, None, None, None),
        "cannot be read now": d.Seen(None, "not an SQLite database", None, None, None),
    }
    for why, seen in cases.items():
        got = proof().judge(w, FakeSync(), seen)
        assert not got.holds and why in got.line, (why, got.line)
        if why != "cannot be read now":
            assert "the repository's revision 6" in got.line and "E170013" in got.line
    # the same as data: the node's revision, the repository's, the lag as codes with the words beside them
    ok_fields = proof().judge(w, FakeSync(), ok).fields
    assert ok_fields["proved"] is True and ok_fields["revision"] == 6 and ok_fields["repository_revision"] == 7
    assert ok_fields["proved_revision"] == 6 and ok_fields["lag"] == [] and ok_fields["logged_at"].endswith("Z")
    codes = {why: proof().judge(w, FakeSync(), seen).fields["lag"] for why, seen in cases.items()}
    assert codes == {"its copy at revision 5": ["copy-behind"], "its copy at revision 4": ["copy-behind", "not-on-disk"],
                     "other bytes on disk": ["other-bytes"], "logged after the file arrived": ["not-logged"],
                     "no working copy": ["no-working-copy", "not-on-disk"],
                     "cannot be read now": ["working-copy-unreadable"]}
    behind = proof().judge(w, FakeSync(), cases["its copy at revision 5"]).fields
    assert behind["revision"] == 5 and behind["lag_reasons"] == ["its copy at revision 5"]
    assert "E170013" in behind["last_error"]


def test_a_repository_without_the_bytes_makes_every_node_lag():
    inv = inventory()
    p = proof()
    p.rev, p.repo_line = None, "does not hold it at revision 7"
    got = p.judge(inv.hosts["esb-mgr"], FakeSync(), d.Seen(None, None, "s" * 64, 1000, (capp.DEPLOYED, 1001)))
    assert not got.holds and "the repository does not hold it at revision 7" in got.line


def test_gone_means_out_of_the_repository_the_copy_the_disk_and_undeployed_where_it_was():
    inv = inventory()
    p = proof(sha=None)
    p.rev = p.head = 8
    w = inv.hosts["esb-w2"]
    assert p.judge(w, FakeSync(), d.Seen(wc(8), None, None, None, (capp.UNDEPLOYED, 5.0))).holds
    assert p.judge(w, FakeSync(), d.Seen(wc(8), None, None, None, None)).line.endswith("(never deployed here)")
    assert "still holds it" in p.judge(w, FakeSync(), d.Seen(wc(8, 6), None, None, None, None)).line
    assert "still on disk" in p.judge(w, FakeSync(), d.Seen(wc(8), None, "s", 1, None)).line
    assert "no `Undeploying" in p.judge(w, FakeSync(), d.Seen(wc(8), None, None, None, (capp.DEPLOYED, 1.0))).line


def test_a_row_carries_what_the_run_did_on_the_manager():
    rows = []

    class Rep:
        def emit(self, r):
            rows.append(r)
    inv = inventory()
    p = d.Proof(None, Rep(), None, "deploy", "x", "A_1", "s", {"esb-mgr": (Status.CHANGED, "written")})
    p.row(inv.hosts["esb-mgr"], Status.OK, "proved")
    p.row(inv.hosts["esb-w1"], Status.OK, "proved")
    p.row(inv.hosts["esb-mgr"], Status.FAILED, "lags")
    p.row(inv.hosts["esb-mgr"], Status.SKIPPED, "not running")  # a stopped manager was still written
    p.row(inv.hosts["esb-w1"], Status.SKIPPED, "not running")
    assert [(r.fields["written"], r.fields["action"]) for r in rows if r.host == "esb-mgr"] == [(True, "write")] * 3
    assert "written" not in rows[1].fields and rows[1].fields["app"] == "A_1" and rows[1].fields["deployed"] is False
    assert [(r.status, r.message) for r in rows] == [(Status.CHANGED, "written; proved"), (Status.OK, "proved"),
                                                     (Status.FAILED, "written; lags"),
                                                     (Status.CHANGED, "written; not running"),
                                                     (Status.SKIPPED, "not running")]
