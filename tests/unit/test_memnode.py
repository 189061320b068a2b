"""tests/memnode.py: the in-memory node the step plan tests run on behaves as RemoteHost does where a step can
tell (reads, caps, links, modes, commands), and offers every operation of NodeIO with the same parameters."""
from __future__ import annotations

import inspect

import pytest

from tasks.remote import RemoteError
from tasks.remote.host import RemoteHost
from tasks.remote.protocol import NodeIO, NodeReads
from tasks.remote.readcache import ReadCache
from tests.memnode import MemoryNode, node_context, product_node
from tests.unit.helpers import inventory

INV = inventory()
W1 = INV.hosts["esb-w1"]


def members(proto) -> set[str]:
    return {n for n in dir(proto) if not n.startswith("_")}


def params(fn) -> list[str]:
    return list(inspect.signature(fn).parameters)


def test_the_plan_phase_face_is_part_of_node_io():
    assert members(NodeReads) < members(NodeIO)
    assert {"write", "remove", "chmod", "place", "backup_on_host"}.isdisjoint(members(NodeReads))


def test_memory_node_offers_every_operation_of_node_io_with_its_parameters():
    node = MemoryNode(W1)
    for name in members(NodeIO):
        want = inspect.getattr_static(NodeIO, name)
        if isinstance(want, property):
            assert name in ("host", "can_sudo", "cache"), name
            assert getattr(node, name) in (W1, False) or isinstance(getattr(node, name), ReadCache), name
            continue
        assert params(getattr(MemoryNode, name)) == params(want), name


def test_remote_host_offers_every_operation_of_node_io_with_its_parameters():
    """RemoteHost hands each call to the part that does it (bound in __post_init__, no connection made)."""
    rh = RemoteHost(W1, "r1")
    for name in members(NodeIO):
        want = inspect.getattr_static(NodeIO, name)
        if isinstance(want, property):
            assert getattr(rh, name) in (W1, False) or isinstance(getattr(rh, name), ReadCache), name
            continue
        assert params(getattr(rh, name)) == params(want)[1:], name  # bound: without self


def test_reads_stats_and_listings():
    node = MemoryNode(W1)
    node.add_file("/opt/p/conf/a.xml", b"<a/>", 0o640, uid=7)
    assert node.read("/opt/p/conf/a.xml") == b"<a/>"
    assert node.read("/opt/p/conf/none.xml") is None
    st = node.stat("/opt/p/conf/a.xml")
    assert st is not None and st.is_file and st.mode & 0o7777 == 0o640 and st.uid == 7 and st.size == 4
    assert node.stat("/opt/p/conf").is_dir and node.listdir("/opt/p") == ["conf"]
    assert node.listdir("/opt/none") is None
    with pytest.raises(RemoteError, match="is a directory"):
        node.read("/opt/p/conf")
    with pytest.raises(RemoteError, match="more than a hosts file may hold"):
        node.read("/opt/p/conf/a.xml", 3, "a hosts file")
    assert node.read_range("/opt/p/conf/a.xml", -2, 10) == (b"/>", 4)
    assert node.reads == ["/opt/p/conf/a.xml", "/opt/p/conf/none.xml", "/opt/p/conf", "/opt/p/conf/a.xml"]


def test_a_link_is_followed_by_reads_and_stays_a_link_when_written():
    node = MemoryNode(W1)
    node.add_file("/srv/real/hosts", b"old\n", 0o600, uid=0)
    node.add_link("/etc/hosts", "../srv/real/hosts")
    node.add_link("/opt/home", "/srv/real")
    assert node.read("/etc/hosts") == b"old\n" and node.read("/opt/home/hosts") == b"old\n"
    assert node.lstat("/etc/hosts").is_link and node.stat("/etc/hosts").is_file
    assert node.realpath("/opt/home/hosts") == "/srv/real/hosts" and node.realpath("/opt/home/new") == "/srv/real/new"
    node.write("/etc/hosts", b"new\n")
    assert node.links["/etc/hosts"] == "../srv/real/hosts" and node.data("/srv/real/hosts") == b"new\n"
    st = node.stat("/srv/real/hosts")
    assert st.mode & 0o7777 == 0o600 and st.uid == 0  # mode and owner kept
    assert node.backups == ["/etc/hosts"] and node.written == ["/etc/hosts"]
    node.place("/etc/hosts", b"placed", 0o600)  # a new file replaces the link, never follows it
    assert "/etc/hosts" not in node.links and node.data("/srv/real/hosts") == b"new\n"


def test_a_relative_path_is_taken_from_the_logins_home_as_sftp_does():
    node = MemoryNode(W1)
    node.add_file(".esb-cluster/nodes/esb-w1/start.json", b"{}")
    assert node.read("/home/wso2/.esb-cluster/nodes/esb-w1/start.json") == b"{}"
    assert node.listdir(".esb-cluster/nodes") == ["esb-w1"]


def test_a_write_needs_its_folder_and_a_new_file_gets_its_mode():
    node = MemoryNode(W1)
    with pytest.raises(RemoteError, match="no such file"):
        node.write("/nowhere/x", b"")
    node.mkdir_p("/a/b")
    node.write("/a/b/x", b"1", mode=0o600)
    assert node.stat("/a/b/x").mode & 0o7777 == 0o600 and node.backups == []
    node.remove("/a/b/x")
    assert node.read("/a/b/x") is None and node.removed == ["/a/b/x"] and node.backups == ["/a/b/x"]


def test_commands_are_answered_as_told_and_an_unexpected_one_fails_the_test():
    node = MemoryNode(W1)
    node.on(r"^test -w ", (1, "", ""))
    node.on(r"openssl", lambda cmd, stdin, sudo: (0, f"sudo={sudo} stdin={stdin!r}", ""))
    assert node.run("test -w /etc", check=False) == (1, "", "")
    with pytest.raises(RemoteError, match="exited 1"):
        node.run("test -w /etc")
    assert node.run("sh -c 'openssl x'", stdin=b"pw", sudo=True)[1] == "sudo=True stdin=b'pw'"
    with pytest.raises(AssertionError, match="no answer for the command 'rm -rf /'"):
        node.run("rm -rf /")
    assert node.commands[-1] == ("rm -rf /", False)


def test_the_product_node_holds_the_shipped_files_and_the_context_reaches_other_nodes():
    node = product_node(W1)
    assert node.read(f"{W1.product_home}/repository/conf/carbon.xml").startswith(b"<?xml")
    assert node.stat(f"{W1.product_home}/bin/wso2server.sh").mode & 0o111
    mgr = MemoryNode(INV.hosts["esb-mgr"])
    ctx = node_context(node, INV, others={"esb-mgr": mgr})
    assert ctx.other(INV.hosts["esb-mgr"]).remote is mgr and ctx.remote is node
    with pytest.raises(RemoteError, match="esb-w2: unreachable"):
        ctx.other(INV.hosts["esb-w2"])
