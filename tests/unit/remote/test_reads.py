"""tasks/remote/reads.py on a real sshd: the read cache (answered until the file changes, shared by machine mates),
the pipelined read-ahead in a few counted round trips, the odd files left to a plain read."""
from __future__ import annotations

import os

import pytest

from tasks.remote.common import RemoteError
from tasks.remote.readcache import ReadCache
from tests.unit.helpers import recorded


def test_a_second_read_is_answered_from_the_cache_until_the_file_changes(lab, remote):
    r = remote()
    f = lab.hosts["esb-w1"].conf("carbon.xml")
    first = r.read(str(f))
    ops = r.counters.sftp_ops
    assert r.read(str(f)) is first and r.counters.sftp_ops == ops  # no round trip
    r.write(str(f), first + b"<!-- x -->\n")
    assert r.read(str(f)) == first + b"<!-- x -->\n" and r.counters.sftp_ops > ops  # what the write put there
    f.write_bytes(b"<changed-behind-our-back/>")
    r.run("true")  # a command may change any file: the cache forgets everything
    assert r.read(str(f)) == b"<changed-behind-our-back/>"


def test_machine_mates_share_one_cache_and_see_each_others_writes(lab, remote):
    shared = ReadCache()
    a, b = remote(cache=shared), remote(cache=shared)
    hosts = lab.hosts["esb-w1"].hosts_file
    before = b.read(str(hosts))
    a.write(str(hosts), before + b"10.0.0.9 extra\n")
    assert b.read(str(hosts)) == before + b"10.0.0.9 extra\n"


def test_prefetch_reads_many_files_in_a_few_round_trips_and_leaves_the_odd_ones(lab, remote):
    r = remote()
    conf = lab.hosts["esb-w1"].home / "repository" / "conf"
    files = [str(p) for p in sorted(conf.rglob("*.xml"))]
    (conf / "a-folder.xml").mkdir()
    r.connect()
    ops = r.counters.sftp_ops
    r.prefetch(files + [str(conf / "a-folder.xml"), str(conf / "missing.xml")])
    assert r.counters.sftp_ops - ops == 4  # stat, open, read and close rounds for all of them
    for p in files:
        assert r.read(p) == open(p, "rb").read()
    assert r.counters.sftp_ops - ops == 4  # every read answered from the cache
    assert r.read(str(conf / "missing.xml")) is None
    try:
        r.read(str(conf / "a-folder.xml"))
    except Exception as e:  # left to a plain read, which says why
        assert "is a directory" in str(e)
    else:
        raise AssertionError("a folder was read as a file")


def test_a_confined_read_takes_one_lstat_for_a_missing_file_and_no_second_stat_for_a_plain_one(lab, remote,
                                                                                             monkeypatch):
    """The lstat the confinement takes answers for a missing file and stands for the stat of a regular one; a link is
    still followed by a stat (and checked), a FIFO still refused before any open."""
    home = lab.hosts["esb-w1"].home
    conf = home / "repository" / "conf"
    r = remote(areas=[(str(home), (str(home),))])
    r.connect()
    asked = recorded(monkeypatch, r.transport.sftp, "stat", "lstat")
    assert r.read(str(conf / "missing.xml")) is None
    assert asked == [("lstat", str(conf / "missing.xml"))]
    asked.clear()
    assert r.read(str(conf / "carbon.xml")) == (conf / "carbon.xml").read_bytes()
    assert asked == [("lstat", str(conf / "carbon.xml"))]
    assert r.known_stat(str(conf / "carbon.xml")).size == (conf / "carbon.xml").stat().st_size
    os.symlink(conf / "registry.xml", conf / "linked.xml")
    asked.clear()
    assert r.read(str(conf / "linked.xml")) == (conf / "registry.xml").read_bytes()
    assert ("stat", str(conf / "linked.xml")) in asked
    os.mkfifo(conf / "pipe.xml")
    with pytest.raises(RemoteError, match="not a regular file"):
        r.read(str(conf / "pipe.xml"))
    (conf / "big.xml").write_bytes(b"<a/>" * 100)
    with pytest.raises(RemoteError, match="more than a configuration file may hold"):
        r.read(str(conf / "big.xml"), limit=10)
