"""Targets that are symbolic links (issue 9): a hosts file or a config file linked from elsewhere is edited
through the link and stays a link; rollback restores the file the link leads to byte for byte, the link
untouched; a link to nothing is refused with a clear message and nothing changes."""
from __future__ import annotations

import os
import shutil

import pytest

from tests.acceptance.dbconf import use_database
from tests.lab import Lab


def link_to_elsewhere(p, elsewhere) -> bytes:
    """Move p to elsewhere and leave a (relative) symlink at p; the original bytes."""
    data = p.read_bytes()
    elsewhere.parent.mkdir(parents=True, exist_ok=True)
    os.replace(p, elsewhere)
    os.symlink(os.path.relpath(elsewhere, p.parent), p)
    return data


def declare_link_root(lab: Lab, folder) -> None:
    """esb-w1 (the first worker) says in hosts.toml that links in its product home may lead into folder."""
    lab.write_toml(lab.toml().replace('role = "worker"\n', f'role = "worker"\nlink_roots = ["{folder}"]\n', 1))


def test_a_linked_hosts_file_and_config_file_are_edited_through_the_link(lab: Lab):
    use_database(lab)
    w1 = lab.hosts["esb-w1"]
    shared = w1.root / "shared"
    declare_link_root(lab, shared)
    hosts_data = link_to_elsewhere(w1.hosts_file, shared / "hosts")
    carbon = w1.conf("carbon.xml")
    carbon_data = link_to_elsewhere(carbon, shared / "conf" / "carbon.xml")
    os.chmod(shared / "conf" / "carbon.xml", 0o640)
    links = {p: os.readlink(p) for p in (w1.hosts_file, carbon)}
    for step in ("map-hosts", "set-hostnames"):
        r = lab.fab("-H", "esb-w1", step)
        assert r.returncode == 0 and f"[esb-w1] {step}: changed" in r.stdout, r.stdout + r.stderr
    assert {p: os.readlink(p) for p in links} == links  # still the same links
    assert b"carbondb.mysql-wso2.com" in (shared / "hosts").read_bytes()
    assert b"<HostName>esb.wso2.com</HostName>" in (shared / "conf" / "carbon.xml").read_bytes()
    assert os.stat(shared / "conf" / "carbon.xml").st_mode & 0o777 == 0o640
    assert [p.name for p in (shared / "conf").iterdir()] == ["carbon.xml"]  # no temp file left
    before = lab.snapshot()
    assert lab.fab("-H", "esb-w1", "map-hosts").stdout.count(": ok") == 1  # a second run reads through the link
    assert lab.fab("-H", "esb-w1", "set-hostnames", "--verify").returncode == 0
    assert lab.snapshot() == before
    for _ in range(2):  # set-hostnames, then map-hosts
        assert lab.fab("-H", "esb-w1", "rollback").returncode == 0
    assert {p: os.readlink(p) for p in links} == links
    assert (shared / "hosts").read_bytes() == hosts_data
    assert (shared / "conf" / "carbon.xml").read_bytes() == carbon_data


def test_a_link_to_nothing_is_refused_and_nothing_changes(lab: Lab):
    use_database(lab)
    w2 = lab.hosts["esb-w2"]
    w2.hosts_file.unlink()
    os.symlink(w2.root / "gone" / "hosts", w2.hosts_file)
    before = lab.snapshot()
    r = lab.fab("-H", "esb-w2", "map-hosts")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "[esb-w2] map-hosts: failed: hosts file " in r.stdout and "does not exist" in r.stdout, r.stdout
    assert lab.snapshot() == before


@pytest.mark.parametrize("planted", ["file-link", "folder-link"])
def test_a_link_the_node_planted_out_of_its_roots_is_refused_in_every_mode(lab: Lab, tmp_path, planted):
    """A node links a configuration file (or its folder) to a root-only file elsewhere: patch does not rewrite it,
    and neither --dry-run nor --verify shows a byte of it; the message names the link and the way to allow a
    link the operator made (link_roots). Declared, the same link is followed."""
    use_database(lab)
    w1 = lab.hosts["esb-w1"]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    carbon = w1.conf("carbon.xml")
    secret = carbon.read_bytes().replace(b"<HostName>", b"<HostName>TOPSECRET")
    if planted == "file-link":
        (elsewhere / "carbon.xml").write_bytes(secret)
        carbon.unlink()
        os.symlink(elsewhere / "carbon.xml", carbon)
    else:
        conf = carbon.parent
        shutil.copytree(conf, elsewhere / "conf", symlinks=True)
        (elsewhere / "conf" / "carbon.xml").write_bytes(secret)
        shutil.rmtree(conf)
        os.symlink(elsewhere / "conf", conf)
    victim = elsewhere / ("carbon.xml" if planted == "file-link" else "conf/carbon.xml")
    os.chmod(victim, 0o600)
    before = lab.snapshot()
    for mode in ((), ("--dry-run",), ("--verify",)):
        r = lab.fab("-H", "esb-w1", "set-hostnames", *mode)
        assert r.returncode == 1, r.stdout + r.stderr
        assert "through a symbolic link, outside what the project manages" in r.stdout, r.stdout
        assert "link_roots" in r.stdout and "TOPSECRET" not in r.stdout + r.stderr
        assert "Traceback" not in r.stdout + r.stderr
    assert lab.snapshot() == before and victim.read_bytes() == secret
    declare_link_root(lab, elsewhere)
    r = lab.fab("-H", "esb-w1", "set-hostnames")
    assert r.returncode == 0 and "[esb-w1] set-hostnames: changed" in r.stdout, r.stdout + r.stderr
    assert os.path.islink(carbon if planted == "file-link" else carbon.parent)
