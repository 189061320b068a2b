"""A login user that may not write the product files: `sudo = true` with SUDO_PASSWORD, over real sshd and
real sudo (a password-asking sudoers rule, no cached credentials).

The lab's product homes and hosts files belong to root (0644 in 0755 folders); the hosts log in as an
unprivileged user whose state_dir is its own.  Writes go through sudo and keep root's ownership and the
mode; created files are root's; rollback undoes them; a wrong or missing SUDO_PASSWORD fails with a clear
message, changes nothing and never shows the password.
"""
from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.acceptance.dbconf import ALIAS, db_address, use_database
from tests.acceptance.test_jars import LIB, MYSQL, artifacts
from tests.lab import Lab

OP = "esblabop"
SUDOERS = Path("/etc/sudoers.d/esb-lab-test")
AXIS2 = "axis2/axis2.xml"
NODES = ("esb-mgr", "esb-w1", "esb-w2")


@pytest.fixture(scope="module")
def op_user():
    """An unprivileged login user whose sudo asks for its password every time."""
    if not shutil.which("sudo"):
        pytest.fail("sudo is not installed (scripts/bootstrap.sh installs it)")
    created = False
    try:
        pwd.getpwnam(OP)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", OP], check=True)
        created = True
    for p in staged_copies():  # left by an earlier, interrupted session of this test user
        p.unlink()
    password = "op-" + secrets.token_hex(8)
    subprocess.run(["chpasswd"], input=f"{OP}:{password}\n", text=True, check=True)
    SUDOERS.write_text(f"Defaults:{OP} timestamp_timeout=0\n{OP} ALL=(ALL:ALL) ALL\n")
    os.chmod(SUDOERS, 0o440)
    try:
        yield password
    finally:
        SUDOERS.unlink(missing_ok=True)
        if created:
            subprocess.run(["userdel", "--remove", OP], capture_output=True)


@pytest.fixture
def sudo_lab(lab: Lab, op_user, tmp_path):
    """The lab, logged into as OP with sudo = true; state_dirs owned by OP; jars and the database alias set."""
    pw = pwd.getpwnam(OP)
    os.chmod(lab.dir, 0o711)  # OP's sshd session reads authorized_keys and walks to the product homes
    state = lab.dir / "opstate"
    state.mkdir(exist_ok=True)
    os.chown(state, pw.pw_uid, pw.pw_gid)
    arts = artifacts(lab, tmp_path)
    arts_toml = lab.extra_toml
    use_database(lab, password=False)
    lab.extra_toml += arts_toml
    text = lab.toml().replace('user = "root"\n', f'user = "{OP}"\nsudo = true\n', 1)
    for name in lab.hosts:
        text = text.replace(f'state_dir = "{lab.dir / "state" / name}"', f'state_dir = "{state / name}"')
    lab.write_toml(text)
    try:
        yield lab, op_user, arts
    finally:
        shutil.rmtree(state, ignore_errors=True)
        os.chmod(lab.dir, 0o700)


def staged_copies() -> list[Path]:
    """Files the login user staged in /tmp for a sudo write and left behind."""
    uid = pwd.getpwnam(OP).pw_uid
    return [p for p in Path("/tmp").glob("esb-tmp-*") if p.stat().st_uid == uid]


def owner_and_mode(p: Path) -> tuple[int, int]:
    st = p.stat()
    return st.st_uid, st.st_mode & 0o777


def root_files(lab: Lab) -> dict[str, tuple[bytes, int, int]]:
    """Bytes, owner and mode of every file under the host roots."""
    out = {}
    for h in lab.hosts.values():
        for p in h.root.rglob("*"):
            if p.is_file():
                st = p.stat()
                out[str(p)] = (p.read_bytes(), st.st_uid, st.st_mode & 0o777)
    return out


def test_patch_through_sudo_keeps_owner_and_mode_then_changes_nothing(sudo_lab):
    lab, password, arts = sudo_lab
    lab.write_env(SUDO_PASSWORD=password)
    steps = ("patch-axis2", "map-hosts", "install-jdbc-driver")
    for step in steps:
        r = lab.fab(step)
        assert r.returncode == 0, r.stdout + r.stderr
        assert r.stdout.count(f"{step}: changed") == 3, r.stdout
        assert password not in r.stdout + r.stderr
    for n in NODES:
        h = lab.hosts[n]
        assert owner_and_mode(h.conf(AXIS2)) == (0, 0o644)
        assert f'<parameter name="localMemberHost">{h.address}</parameter>' in h.conf(AXIS2).read_text()
        assert owner_and_mode(h.hosts_file) == (0, 0o644)
        assert f"{db_address(lab)}\t{ALIAS}\n" in h.hosts_file.read_text()
        jar = h.home / LIB / MYSQL
        assert jar.read_bytes() == arts["mysql_connector_jar"].read_bytes()
        assert owner_and_mode(jar) == (0, 0o644)  # a created file is root's, not the login user's
    assert staged_copies() == []
    # the backups are the login user's own, under its state_dir
    assert all(p.stat().st_uid == pwd.getpwnam(OP).pw_uid for p in (lab.dir / "opstate").rglob("*"))
    before = lab.snapshot(state=False)
    for step in steps:
        r = lab.fab(step)
        assert r.returncode == 0 and r.stdout.count(f"{step}: ok") == 3, r.stdout + r.stderr
    assert lab.snapshot(state=False) == before
    for step in steps:
        assert lab.fab(step, "--verify").returncode == 0


def test_rollback_through_sudo_restores_and_removes(sudo_lab):
    lab, password, _ = sudo_lab
    lab.write_env(SUDO_PASSWORD=password)
    shipped = root_files(lab)
    for step in ("patch-axis2", "install-jdbc-driver"):
        assert lab.fab(step).returncode == 0
    for _ in range(2):
        r = lab.fab("rollback")
        assert r.returncode == 0, r.stdout + r.stderr
    assert root_files(lab) == shipped  # bytes, root's ownership and modes; the created jars are gone


def test_wrong_sudo_password_fails_cleanly(sudo_lab):
    lab, password, _ = sudo_lab
    wrong = "wrong-" + secrets.token_hex(6)
    lab.write_env(SUDO_PASSWORD=wrong)
    before = lab.snapshot()
    r = lab.fab("patch-axis2")
    assert r.returncode == 1
    for n in NODES:
        assert (f"[{n}] patch-axis2: failed: {lab.hosts[n].conf(AXIS2)}: sudo refused the password of {OP} "
                f"(SUDO_PASSWORD)") in r.stdout, r.stdout
    assert wrong not in r.stdout + r.stderr and password not in r.stdout + r.stderr
    assert lab.snapshot() == before  # no file, no backup run, no lock left
    assert staged_copies() == []  # the bytes staged for sudo were removed although sudo said no


def test_missing_sudo_password_says_so(sudo_lab):
    lab, _, _ = sudo_lab
    before = lab.snapshot()
    r = lab.fab("-H", "esb-w1", "patch-axis2")
    assert r.returncode == 1
    assert (f"[esb-w1] patch-axis2: failed: {lab.hosts['esb-w1'].conf(AXIS2)}: sudo asks {OP} for a password "
            "and SUDO_PASSWORD is not set") in r.stdout, r.stdout
    assert lab.snapshot() == before


def test_a_file_only_root_may_read_keeps_every_byte(sudo_lab):
    """Read through sudo (base64 on the wire) and written back: an ISO-8859-1 byte outside the owned lines and
    the file's private mode survive."""
    lab, password, _ = sudo_lab
    lab.write_env(SUDO_PASSWORD=password)
    f = lab.hosts["esb-w1"].conf(AXIS2)
    data = f.read_bytes().replace(b"<axisconfig ", b"<!-- r\xe9sum\xe9 \xa9 -->\n<axisconfig ", 1)
    f.write_bytes(data)
    os.chmod(f, 0o600)
    r = lab.fab("-H", "esb-w1", "patch-axis2")
    assert r.returncode == 0 and "[esb-w1] patch-axis2: changed" in r.stdout, r.stdout + r.stderr
    new = f.read_bytes()
    assert b"<!-- r\xe9sum\xe9 \xa9 -->\n<axisconfig " in new
    assert b'<parameter name="localMemberHost">127.0.0.3</parameter>' in new
    assert owner_and_mode(f) == (0, 0o600)
    assert lab.fab("-H", "esb-w1", "patch-axis2", "--verify").returncode == 0


def test_the_default_state_dir_is_in_the_login_home(sudo_lab):
    """Without state_dir, backups and the lock go to `.esb-cluster/nodes/<name>` in the login user's home."""
    lab, password, _ = sudo_lab
    lab.write_env(SUDO_PASSWORD=password)
    home_state = Path(pwd.getpwnam(OP).pw_dir) / ".esb-cluster"
    shutil.rmtree(home_state, ignore_errors=True)
    w1_state = f'state_dir = "{lab.dir / "opstate" / "esb-w1"}"\n'
    text = lab.hosts_toml.read_text()
    assert w1_state in text
    lab.write_toml(text.replace(w1_state, ""))
    f = lab.hosts["esb-w1"].conf(AXIS2)
    old = f.read_bytes()
    r = lab.fab("-H", "esb-w1", "patch-axis2")
    assert r.returncode == 0 and "[esb-w1] patch-axis2: changed" in r.stdout, r.stdout + r.stderr
    backups = list(home_state.glob("nodes/esb-w1/backups/*/files/*axis2.xml"))
    assert [b.read_bytes() for b in backups] == [old]
    assert not (home_state / "nodes" / "esb-w1" / "lock").exists()
    assert all(p.stat().st_uid == pwd.getpwnam(OP).pw_uid for p in home_state.rglob("*"))
    r = lab.fab("-H", "esb-w1", "rollback")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f.read_bytes() == old and owner_and_mode(f) == (0, 0o644)
    shutil.rmtree(home_state)



def test_a_password_file_written_through_sudo_is_never_readable_by_others(sudo_lab):
    lab, password, _ = sudo_lab
    lab.write_env(SUDO_PASSWORD=password, WSO2_DB_PASSWORD="Contraseña-sudo€")
    r = lab.fab("configure-datasources")
    assert r.returncode == 0 and r.stdout.count("configure-datasources: changed") == 3, r.stdout + r.stderr
    for n in NODES:
        f = lab.hosts[n].conf("datasources/master-datasources.xml")
        assert owner_and_mode(f) == (0, 0o640)
        assert "Contraseña-sudo".encode("latin-1") in f.read_bytes() or "Contraseña-sudo".encode() in f.read_bytes()
    assert staged_copies() == []
    assert lab.fab("configure-datasources", "--verify").returncode == 0


def test_svnadmin_create_goes_through_sudo_when_the_parent_is_root_s(sudo_lab, tmp_path):
    """[svn].repo_path under a folder only root may write: the repository is made through sudo and belongs to
    that folder's owner; its passwd is written through sudo too (issue 23)."""
    lab, password, _ = sudo_lab
    parent = lab.dir / "svnroot"
    parent.mkdir(mode=0o755)
    repo = parent / "depsyncrepo"
    text = lab.hosts_toml.read_text()
    old = next(line for line in text.splitlines() if line.startswith("repo_path = "))
    lab.write_toml(text.replace(old, f'repo_path = "{repo}"'))
    lab.write_env(SUDO_PASSWORD=password, SVN_PASSWORD="Svn-pw-12345678")
    r = lab.fab("create-svn-repo")
    assert r.returncode == 0, r.stdout + r.stderr
    assert (repo / "format").exists() and repo.stat().st_uid == 0
    assert b"repouser = " in (repo / "conf" / "passwd").read_bytes()
    assert password not in r.stdout + r.stderr
    r = lab.fab("create-svn-repo")
    assert r.returncode == 0 and "create-svn-repo: ok" in r.stdout, r.stdout


def test_a_short_sudo_password_is_masked_as_a_word_not_inside_host_names(sudo_lab):
    """The host's own sudo password may be short (not ours to choose): `esb` works, and masking it leaves
    `esb-w1` alone (it became `********-w1`) while the word `esb` itself is never shown."""
    lab, password, _ = sudo_lab
    subprocess.run(["chpasswd"], input=f"{OP}:esb\n", text=True, check=True)
    try:
        lab.write_env(SUDO_PASSWORD="esb")
        r = lab.fab("patch-axis2", "--verbose")  # every item: the WSDLEPRPrefix (https://esb.wso2.com:443) shown
        out = r.stdout + r.stderr
        assert r.returncode == 0, out
        for n in NODES:
            assert f"[{n}] patch-axis2: changed" in out, out
        assert "********-w1" not in out and "https://esb.wso2.com:443" in out, out  # other words stay whole
        assert not re.search(r"(?<!\w)(?<!\w[.-])esb(?!\w)(?![.-]\w)", out), out  # the word itself: never
        r = lab.fab("-H", "esb-w1", "patch-axis2", "--json")
        assert r.returncode == 0 and '"esb-w1": {' in r.stdout and "********" not in r.stdout, r.stdout
    finally:
        subprocess.run(["chpasswd"], input=f"{OP}:{password}\n", text=True, check=True)
