"""tasks/probes/restart.py: `restart needed` from bytes against the start record (never mtimes), `unknown` where
there is no record for the running pid, and a node's server as a desired state (should run, password-tmp)."""
from __future__ import annotations

import hashlib
from functools import partial

from tasks.probes import restart
from tasks.probes.restart import UNKNOWN, health_items, not_running, restart_hint
from tasks.probes.server import ServerState
from tasks.probes.startrecord import StartRecord
from tasks.remote import FileStat
from tasks.steps import STEPS
from tests.unit.helpers import inventory
from tasks.probes.startrecord import record_path
from tests.memnode import MemoryNode, MemoryRun

#: the probe with the registry the commands hand it (a probe imports no step)
managed_files = partial(restart.managed_files, steps=STEPS)
stale_files = partial(restart.stale_files, steps=STEPS)
restart_needed = partial(restart.restart_needed, steps=STEPS)

INV = inventory()
W1 = INV.hosts["esb-w1"]
FILES = managed_files(W1, INV)


class FakeNode:
    """A node's files (path -> bytes): what stale_files and health_items read."""

    def __init__(self, files: dict[str, bytes]):
        self.files = files

    def prefetch(self, paths):
        pass

    def read(self, path, limit=0, kind="", cache=True):
        return self.files.get(path)

    def sha256(self, path, limit=0):
        return None

    def lstat(self, path):
        return FileStat(0o100600, 0, 0, 3, 0) if path in self.files else None


def running(pid=100, since=1000, now=1010, elapsed=10) -> ServerState:
    return ServerState(pid=pid, alive=True, ours=True, since=since, now=now, elapsed=elapsed)


def record_of(node: FakeNode, pid=100, **kw) -> StartRecord:
    return StartRecord(pid, {p: hashlib.sha256(node.files[p]).hexdigest() if p in node.files else None
                             for p in FILES}, **kw)


def test_a_change_is_named_and_the_same_bytes_put_back_need_no_restart():
    assert any(p.endswith("repository/conf/carbon.xml") for p in FILES)
    node = FakeNode({p: b"as started " + p.encode() for p in FILES})
    rec = record_of(node)
    assert stale_files(node, W1, INV, running(), rec) == []
    carbon = next(p for p in FILES if p.endswith("repository/conf/carbon.xml"))
    before = node.files[carbon]
    node.files[carbon] = b"changed"
    assert stale_files(node, W1, INV, running(), rec) == ["repository/conf/carbon.xml"]
    node.files[carbon] = before  # put back byte for byte
    assert stale_files(node, W1, INV, running(), rec) == []


def test_a_running_server_without_a_record_for_its_pid_is_unknown_and_a_stopped_one_needs_nothing():
    node = FakeNode({p: b"x" for p in FILES})
    assert stale_files(node, W1, INV, running(), None) == [UNKNOWN]
    assert stale_files(node, W1, INV, running(pid=101), record_of(node, pid=100)) == [UNKNOWN]  # started by hand
    assert stale_files(node, W1, INV, running(), record_of(node, stopped=True)) == [UNKNOWN]
    assert stale_files(node, W1, INV, ServerState(pid=100), record_of(node)) == []


def test_the_hint_names_every_node():
    assert restart_hint({"esb-w1": ["a"], "esb-w2": [UNKNOWN]}) == [
        "restart needed on esb-w1, esb-w2; next: fab rolling-restart --needed"]
    assert restart_hint({}) == []


def test_a_node_started_by_fab_and_not_stopped_by_it_should_run():
    rec = StartRecord(100, {})
    assert not_running(running(), rec) is None
    assert not_running(ServerState(pid=100), rec) == "not running (stale wso2carbon.pid, pid 100 gone)"
    assert not_running(ServerState(), rec) == "not running (started by fab as pid 100, no wso2carbon.pid now)"
    assert not_running(ServerState(pid=7), None) == "not running (stale wso2carbon.pid, pid 7 gone)"  # no record
    assert not_running(ServerState(), None) is None  # never started: stopped, ok
    assert not_running(ServerState(pid=100), StartRecord(100, {}, stopped=True)) is None  # fab stop
    assert "not this node's Carbon" in not_running(ServerState(pid=5, alive=True), rec)


def test_health_items_name_the_fix_and_a_leftover_password_tmp_never_its_content():
    tmp = f"{W1.product_home}/password-tmp"
    node = FakeNode({tmp: b"Keystore-pw-1"})
    items = health_items(node, W1, INV, ServerState(pid=100), StartRecord(100, {}))
    assert [(i.what, i.fix) for i in items] == [("should run", "fab -H esb-w1 start"), (tmp, "fab -H esb-w1 start")]
    assert all("Keystore-pw-1" not in i.line() for i in items)
    # a start under way (running for less than [run].start_timeout) is not a leftover; a server up for longer is,
    # whatever the node's clock says (its elapsed time, not now - since)
    assert health_items(node, W1, INV, running(since=1000, now=1010), StartRecord(100, {})) == []
    late = health_items(node, W1, INV, running(elapsed=INV.run.start_timeout + 1, now=0), StartRecord(100, {}))
    assert [(i.what, i.fix) for i in late] == [(tmp, "fab -H esb-w1 restart")]
    assert health_items(FakeNode({}), W1, INV, ServerState(), StartRecord(100, {}, stopped=True)) == []


def test_the_servers_own_files_are_not_managed_files():
    assert not [p for p in FILES if p.endswith(("wso2carbon.pid", "wso2carbon.log", "password-tmp"))]
    assert f"{W1.product_home}/bin/wso2server.sh" in FILES


# ---------------------------------------------------------------- across hosts, on nodes in memory (tests/memnode.py)

def carbon_running(node: MemoryNode, pid: int = 100) -> None:
    """The node's server runs as `pid` (what ServerProbe.state's one command prints)."""
    home = node.host.product_home
    node.add_file(f"{home}/wso2carbon.pid", f"{pid}\n".encode())
    node.on(r"^sh -c .*date \+%s", (0, f"1000\npid {pid}\nmtime 990\nstate S\netimes 10\n"
                                       f"cmd java -Dcarbon.home={home} org.wso2.carbon.bootstrap.Bootstrap\n", ""))


def test_restart_needed_reads_each_running_node_through_the_runs_connections():
    w1, w2, mgr = MemoryNode(W1), MemoryNode(INV.hosts["esb-w2"]), MemoryNode(INV.hosts["esb-mgr"])
    for node in (w1, w2):
        for p in managed_files(node.host, INV):
            node.add_file(p, b"as started " + p.encode())
        carbon_running(node)
        node.add_file(record_path(node.host), StartRecord(100, {p: hashlib.sha256(node.data(p)).hexdigest()
                                                                for p in managed_files(node.host, INV)}).to_bytes())
    carbon = next(p for p in managed_files(W1, INV) if p.endswith("repository/conf/carbon.xml"))
    w2.add_file(carbon, b"changed since")
    run = MemoryRun(INV, {"esb-w1": w1, "esb-w2": w2, "esb-mgr": mgr})
    hosts = [INV.hosts[n] for n in ("esb-mgr", "esb-w1", "esb-w2", "db1")]
    assert restart_needed(run, hosts) == {"esb-w2": ["repository/conf/carbon.xml"]}
    assert mgr.commands == []  # no pid file: nothing runs there, no command asked
    w1.remove(record_path(W1))
    assert restart_needed(run, hosts) == {"esb-w1": [UNKNOWN], "esb-w2": ["repository/conf/carbon.xml"]}
    del run.nodes["esb-w2"]  # an unreachable host is left to its own rows
    assert restart_needed(run, hosts) == {"esb-w1": [UNKNOWN]}
