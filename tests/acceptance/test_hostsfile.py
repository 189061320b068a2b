"""map-hosts against real sshd hosts: managed lines, other bytes kept, idempotence, verify, dry-run,
a bind-mounted hosts file (rename answers EBUSY: rewritten in place), and files that cannot be written."""
from __future__ import annotations

import json
import os
import subprocess
from contextlib import contextmanager

import pytest

from tests.acceptance.dbconf import ALIAS, db_address, use_database

ORIGINAL = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n"
HOSTS_MAP = '[hosts_map]\n"esb.wso2.com" = "10.20.0.10"\n"mgt.esb.wso2.com" = "esb-mgr"\n'


def wanted_tail(lab) -> str:
    return (f"{db_address(lab)}\t{ALIAS}\n10.20.0.10\tesb.wso2.com\n"
            f"{lab.hosts['esb-mgr'].address}\tmgt.esb.wso2.com\n")


def esb_files(lab) -> dict[str, bytes]:
    return {n: h.hosts_file.read_bytes() for n, h in lab.hosts.items() if h.role in ("manager", "worker")}


def test_patch_adds_managed_lines_then_changes_nothing(lab):
    use_database(lab, HOSTS_MAP, password=False)
    r = lab.fab("map-hosts")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.count(": changed (3 items)") == 3 and "[db1]" not in r.stdout
    assert set(esb_files(lab).values()) == {(ORIGINAL + wanted_tail(lab)).encode()}
    before = lab.snapshot()
    r = lab.fab("map-hosts")
    assert r.returncode == 0 and r.stdout.count(": ok") == 3, r.stdout
    assert lab.snapshot() == before  # bytes and mtimes
    assert lab.fab("map-hosts", "--verify").returncode == 0


def test_stale_line_corrected_and_name_taken_off_an_unrelated_line(lab):
    use_database(lab, password=False)
    f = lab.hosts["esb-w1"].hosts_file
    f.write_text(f"127.0.0.1\tlocalhost\n10.9.9.9  {ALIAS}  # old db\n10.0.0.7 backup {ALIAS}\n# {ALIAS} note\n")
    r = lab.fab("-H", "esb-w1", "map-hosts")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f.read_text() == (f"127.0.0.1\tlocalhost\n{db_address(lab)}  {ALIAS}  # old db\n"
                             f"10.0.0.7 backup\n# {ALIAS} note\n")
    assert f"{ALIAS}: wanted '{db_address(lab)}', actual '10.9.9.9'" in r.stdout
    assert f"{ALIAS} on line 3: wanted (absent), actual '10.0.0.7 backup {ALIAS}'" in r.stdout


def test_verify_and_dry_run_change_nothing(lab):
    use_database(lab, password=False)
    before = lab.snapshot()
    r = lab.fab("map-hosts", "--verify")
    assert r.returncode == 2
    assert "[esb-w2] map-hosts: drift (1 item)" in r.stdout
    assert f"{lab.hosts['esb-w2'].hosts_file}: {ALIAS}: wanted '{db_address(lab)}', actual (absent)" in r.stdout
    r = lab.fab("-H", "esb-mgr", "map-hosts", "--dry-run")
    assert r.returncode == 0 and f"+{db_address(lab)}\t{ALIAS}" in r.stdout and "@@" in r.stdout
    j = json.loads(lab.fab("map-hosts", "--verify", "--json").stdout)
    assert j["exit"] == 2 and j["hosts"]["esb-w1"]["map-hosts"]["status"] == "drift"
    assert lab.snapshot() == before


# ---------------------------------------------------------------- files that resist

def _run(*cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True)


@contextmanager
def bind_mount(src, dst, read_only: bool = False):
    """A real bind mount (needs root with CAP_SYS_ADMIN; the test is skipped without it)."""
    r = _run("mount", "--bind", str(src), str(dst))
    if r.returncode != 0:
        pytest.skip(f"cannot bind-mount here: {r.stderr.strip()}")
    try:
        if read_only:
            r = _run("mount", "-o", "remount,bind,ro", str(dst))
            assert r.returncode == 0, r.stderr
        yield
    finally:
        if _run("umount", str(dst)).returncode != 0:
            _run("umount", "-l", str(dst))


def test_bind_mounted_hosts_file_is_rewritten_in_place(lab, tmp_path):
    """Docker bind-mounts /etc/hosts: rename over it answers EBUSY, so the file is rewritten in place."""
    use_database(lab, password=False)
    h = lab.hosts["esb-w1"]
    outside = tmp_path / "hosts-of-the-container-runtime"
    outside.write_text(ORIGINAL)
    with bind_mount(outside, h.hosts_file):
        r = lab.fab("-H", "esb-w1", "map-hosts")
        assert r.returncode == 0, r.stdout + r.stderr
        assert h.hosts_file.read_text() == ORIGINAL + f"{db_address(lab)}\t{ALIAS}\n"
        assert os.stat(h.hosts_file).st_ino == os.stat(outside).st_ino  # still the mounted file
        assert lab.fab("-H", "esb-w1", "map-hosts", "--verify").returncode == 0
    assert outside.read_text().endswith(f"\t{ALIAS}\n")
    last_run = sorted((lab.state_dir("esb-w1") / "backups").iterdir())[-1]
    assert [b.read_text() for b in last_run.rglob("*-etc-hosts")] == [ORIGINAL]  # backed up first


def test_immutable_hosts_file_fails_clearly_and_others_go_on(lab):
    """root can write anything but an immutable file (chattr +i): a real refusal for the root login."""
    use_database(lab, password=False)
    f = lab.hosts["esb-w1"].hosts_file
    if _run("chattr", "+i", str(f)).returncode != 0:
        pytest.skip("chattr +i is not supported here")
    try:
        st = os.stat(f)
        r = lab.fab("map-hosts")
        assert r.returncode == 1
        assert f"[esb-w1] map-hosts: failed: {f}: permission denied even for root (an immutable file" in r.stdout
        assert "failed on: esb-w1" in r.stdout and r.stdout.count(": changed") == 2
        assert f.read_text() == ORIGINAL and os.stat(f).st_mtime_ns == st.st_mtime_ns
        assert not [p for p in f.parent.iterdir() if ".esb-tmp-" in p.name]  # no temp file left
    finally:
        _run("chattr", "-i", str(f))


def test_hosts_file_on_a_read_only_mount(lab):
    use_database(lab, password=False)
    h = lab.hosts["esb-w2"]
    etc = h.root / "etc"
    etc.mkdir()
    (etc / "hosts").write_text(ORIGINAL)
    lab.write_toml(lab.toml().replace(f'hosts_file = "{h.hosts_file}"', f'hosts_file = "{etc / "hosts"}"'))
    with bind_mount(etc, etc, read_only=True):
        before = lab.snapshot()
        r = lab.fab("-H", "esb-w2", "map-hosts")
        assert r.returncode == 1
        assert f"[esb-w2] map-hosts: failed: {etc / 'hosts'}: cannot write: read-only file system" in r.stdout
        assert lab.snapshot() == before


def test_non_utf8_hosts_file_is_refused(lab):
    use_database(lab, password=False)
    f = lab.hosts["esb-w2"].hosts_file
    f.write_bytes(b"127.0.0.1 localhost\n10.0.0.3 caf\xe9\n")
    before = f.read_bytes(), os.stat(f).st_mtime_ns
    r = lab.fab("map-hosts")
    assert r.returncode == 1
    assert f"[esb-w2] map-hosts: failed: hosts file {f} on esb-w2 is not UTF-8 text (line 2, byte offset 32)" in r.stdout
    assert (f.read_bytes(), os.stat(f).st_mtime_ns) == before
    assert r.stdout.count(": changed") == 2


def test_database_host_that_is_a_dns_name_is_refused(lab):
    lab.extra_toml = f'[database]\nhost = "db.example.com"\nalias = "{ALIAS}"\n'
    lab.write_toml()
    before = lab.snapshot()
    r = lab.fab("map-hosts")
    assert r.returncode == 1
    assert "[database].host 'db.example.com' is a DNS name, and a hosts file needs an IP" in r.stdout
    assert lab.snapshot() == before
