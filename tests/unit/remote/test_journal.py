"""tasks/remote/journal.py on a real sshd: the manifest records what rollback needs (mode, owner, private)."""
from __future__ import annotations

import json
import hashlib
import os

from tests.unit.helpers import recorded


def manifest(lab, r) -> dict:
    folder = os.path.basename(r.backup_dir)  # the node's sequence number, then the run id
    assert folder.endswith("-" + r.run_id)
    return json.loads((lab.state_dir("esb-w1") / "backups" / folder / "manifest.json").read_text())


def test_the_manifest_records_mode_owner_and_privacy_of_each_backup(lab, remote):
    r = remote()
    r.lock()
    home = lab.hosts["esb-w1"].home
    plain, secret, key = home / "plain.xml", home / "secret.properties", home / "node.key"
    for p, mode in ((plain, 0o644), (secret, 0o600), (key, 0o600)):
        p.write_bytes(b"old")
        os.chmod(p, mode)
    r.write(str(plain), b"new")
    r.write(str(secret), b"new")
    r.backup_on_host([str(key)])
    r.write(str(home / "created.xml"), b"new")
    files = {os.path.basename(e["path"]): e for e in manifest(lab, r)["files"]}
    st = os.stat(plain)
    old_digest = hashlib.sha256(b"old").hexdigest()  # each backup's bytes, as saved: rollback checks them
    assert files["plain.xml"] | {"backup": None} == {"path": str(plain), "backup": None, "existed": True,
                                                     "mode": 0o644, "private": False, "owner": [st.st_uid, st.st_gid],
                                                     "sha256": old_digest}
    assert files["secret.properties"]["private"] and files["secret.properties"]["mode"] == 0o600
    assert files["secret.properties"]["sha256"] == old_digest
    assert files["node.key"]["private"]  # copied on the host: never over SFTP, never in a diff
    assert files["node.key"]["sha256"] == old_digest  # taken on the host
    assert files["created.xml"] == {"path": str(home / "created.xml"), "backup": None, "existed": False,
                                    "mode": None, "private": False, "owner": None}
    r.unlock()


def test_each_run_is_numbered_by_the_node_whatever_its_id_says(lab, remote):
    """The backup folder of a run is the node's next number, then the run id: a run whose id (its clock) sorts
    first is still numbered after the runs the node saw before it; pruning keeps the highest numbers."""
    home = lab.hosts["esb-w1"].home
    target = f"{home}/repository/conf/carbon.xml"
    folders = []
    for run_id in ("20990101T000000.000000-1", "19990101T000000.000000-2"):
        r = remote(run_id=run_id)
        r.lock()
        r.write(target, r.read(target) + b"\n")
        folders.append(os.path.basename(r.backup_dir))
        r.prune_backups(1)
        r.close()
    assert folders == ["000001-20990101T000000.000000-1", "000002-19990101T000000.000000-2"]
    assert sorted(os.listdir(lab.state_dir("esb-w1") / "backups")) == [folders[1]]
    index = json.loads((lab.state_dir("esb-w1") / "originals" / "index.json").read_text())
    assert [(f["path"], f["run"]) for f in index["files"]] == [(target, "20990101T000000.000000-1")]


def test_a_file_too_large_to_read_is_backed_up_on_the_host_streamed_with_its_sha256(lab, remote):
    """A file over the read cap (16 MiB: an application archive) replaced or removed: its backup is copied on the
    host (never read over SFTP: the byte counter proves it), 0600, recorded as made there with its sha256 (rollback
    copies it back on the host)."""
    r = remote()
    r.lock()
    home = lab.hosts["esb-w1"].home
    big, gone = home / "Big_1.0.car", home / "Gone_1.0.car"
    body = os.urandom(1 << 20) * 17  # 17 MiB
    for p in (big, gone):
        p.write_bytes(body)
        os.chmod(p, 0o644)
    read_before = r.counters.bytes_read
    r.write(str(big), b"new version")
    r.remove(str(gone))
    assert r.counters.bytes_read - read_before < 1 << 20  # neither was read over SFTP
    assert big.read_bytes() == b"new version" and not gone.exists()
    files = {os.path.basename(e["path"]): e for e in manifest(lab, r)["files"]}
    digest = hashlib.sha256(body).hexdigest()
    folder = lab.state_dir("esb-w1") / "backups" / os.path.basename(r.backup_dir) / "files"
    for name in ("Big_1.0.car", "Gone_1.0.car"):
        rec = files[name]
        assert rec["private"] and rec["mode"] == 0o644 and rec["sha256"] == digest and rec["existed"], rec
        copy = folder / rec["backup"]
        assert copy.stat().st_mode & 0o777 == 0o600 and hashlib.sha256(copy.read_bytes()).hexdigest() == digest
    assert sorted(os.listdir(folder)) == sorted(files[n]["backup"] for n in ("Big_1.0.car", "Gone_1.0.car"))
    r.unlock()


def test_a_runs_first_backup_makes_its_folders_unasked_and_prune_uses_the_numbering_listing(lab, remote, monkeypatch):
    """The listing that numbers a run's folder says which folders are missing: they are made without a stat, and
    prune at the end takes the runs from that listing (the node lock is held: no other run adds one). A run whose
    only backup was withdrawn lists the runs again."""
    home = lab.hosts["esb-w1"].home
    target = f"{home}/repository/conf/carbon.xml"
    backups = lab.state_dir("esb-w1") / "backups"
    folders = []
    for _ in range(2):
        r = remote()
        r.lock()
        r.write(target, r.read(target) + b"\n")
        folders.append(os.path.basename(r.backup_dir))
        r.close()
    r = remote()
    r.lock()
    asked = recorded(monkeypatch, r.transport.sftp, "stat", "listdir")  # (paramiko's listdir asks listdir_attr)
    r.write(target, r.read(target) + b"\n")
    mine = os.path.basename(r.backup_dir)
    assert not [p for kind, p in asked if kind == "stat" and p.startswith(str(backups))], asked
    assert [p for kind, p in asked if kind == "listdir"] == [str(backups)]  # the numbering's listing
    r.prune_backups(2)
    assert [p for kind, p in asked if kind == "listdir"] == [str(backups)]  # no second listing
    assert sorted(os.listdir(backups)) == [folders[1], mine]
    assert mine.startswith("000003-") and (backups / mine / "files").is_dir()
    r.close()

