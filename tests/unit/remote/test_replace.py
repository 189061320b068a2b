"""The shell replace (tasks/remote/replace.py), run by a real sh on this machine: the new file goes in through a
fresh private folder and a rename; links planted at the target, at the source or in place of the folder are never
followed, and nothing is left behind."""
from __future__ import annotations

import os
import subprocess

from tasks.remote.replace import enter, replace, work, work_name


def sh(script: str) -> subprocess.CompletedProcess:
    return subprocess.run(["sh", "-c", script], capture_output=True, text=True, timeout=30)


def setup(tmp_path):
    d = tmp_path / "conf"
    d.mkdir()
    src = tmp_path / "backup"
    src.write_bytes(b"new bytes\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    victim = elsewhere / "victim"
    victim.write_bytes(b"precious\n")
    os.chmod(victim, 0o644)
    return d, src, victim


def test_the_file_goes_in_with_its_mode_and_nothing_is_left(tmp_path):
    d, src, _ = setup(tmp_path)
    (d / "a.xml").write_bytes(b"old\n")
    r = sh(replace(str(src), str(d / "a.xml"), 0o640))
    assert r.returncode == 0, r.stderr
    assert (d / "a.xml").read_bytes() == b"new bytes\n" and (d / "a.xml").stat().st_mode & 0o777 == 0o640
    assert sorted(os.listdir(d)) == ["a.xml"]


def test_a_link_planted_at_the_target_is_replaced_never_followed(tmp_path):
    d, src, victim = setup(tmp_path)
    os.symlink(victim, d / "a.xml")
    assert sh(replace(str(src), str(d / "a.xml"), 0o600, "target")).returncode == 0
    assert not os.path.islink(d / "a.xml") and (d / "a.xml").read_bytes() == b"new bytes\n"
    assert victim.read_bytes() == b"precious\n" and victim.stat().st_mode & 0o777 == 0o644


def test_a_folder_swapped_for_a_link_is_refused(tmp_path):
    d, src, victim = setup(tmp_path)
    real = str(d)
    os.rename(d, tmp_path / "moved")
    os.symlink(victim.parent, d)  # the folder the plan checked is now a link elsewhere
    r = sh(replace(str(src), str(d / "victim"), 0o600, real_dir=real))
    assert r.returncode == 3 and "not the folder checked" in r.stderr
    assert victim.read_bytes() == b"precious\n" and sorted(os.listdir(victim.parent)) == ["victim"]


def test_a_source_that_is_a_link_is_not_copied(tmp_path):
    d, src, victim = setup(tmp_path)
    src.unlink()
    os.symlink(victim, src)  # a backup swapped for a link to a file the node wants copied
    (d / "a.xml").write_bytes(b"old\n")
    r = sh(replace(str(src), str(d / "a.xml"), 0o644))
    assert r.returncode != 0
    assert (d / "a.xml").read_bytes() == b"old\n" and sorted(os.listdir(d)) == ["a.xml"]


def test_the_work_folder_is_fresh_and_random(tmp_path):
    d, _, victim = setup(tmp_path)
    w = work_name("wso2carbon.jks")
    assert w.startswith(".wso2carbon.jks.esb-tmp-") and w != work_name("wso2carbon.jks")
    os.symlink(victim.parent, d / w)  # even a link at the very name: mkdir refuses, nothing is written there
    r = sh(f"{enter(str(d), str(d))} && {work(str(d), w)} && echo x > new")
    assert r.returncode != 0 and sorted(os.listdir(victim.parent)) == ["victim"]


def test_a_copy_that_is_not_the_recorded_bytes_is_not_installed(tmp_path):
    import hashlib
    d, src, _ = setup(tmp_path)
    (d / "a.key").write_bytes(b"old\n")
    good = hashlib.sha256(b"new bytes\n").hexdigest()
    assert sh(replace(str(src), str(d / "a.key"), 0o600, sha256=good)).returncode == 0
    (d / "a.key").write_bytes(b"old\n")
    src.write_bytes(b"the node's own key\n")  # changed since the run saved it
    r = sh(replace(str(src), str(d / "a.key"), 0o600, sha256=good))
    assert r.returncode == 4 and "not the bytes the run saved" in r.stderr
    assert (d / "a.key").read_bytes() == b"old\n" and sorted(os.listdir(d)) == ["a.key"]


def test_a_relative_source_is_taken_from_where_the_command_starts(tmp_path):
    """The default state_dir is relative to the login's home: a backup named relatively is read from there, not
    from the target's folder the script enters."""
    d, src, _ = setup(tmp_path)
    (d / "a.xml").write_bytes(b"old\n")
    r = subprocess.run(["sh", "-c", replace("backup", str(d / "a.xml"), 0o644)], cwd=tmp_path,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert (d / "a.xml").read_bytes() == b"new bytes\n"


def test_a_relative_target_folder_needs_its_real_path():
    import pytest
    with pytest.raises(ValueError, match="needs its real path"):
        replace("/b", ".esb-cluster/nodes/w1/keystore-kept.jks", 0o600)
