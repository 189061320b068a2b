"""The cluster's servers as a desired state (CONTRACT §10), on real sshd hosts with the product's real
bin/wso2server.sh and the stand-in JDK and Carbon (tests/standin/), as in test_lifecycle.py (a lab of its own,
first_octet=140, no balancer):

- `restart needed` compares the managed files' bytes with the start record, never mtimes: a change whose mtime
  lies before the start (a node clock stepped back) is still found, a file put back byte for byte needs nothing;
- a node started by fab that dies (kill -9) is drift in `status` and `verify --live` with the fix, and the fix as
  printed brings it back; a node stopped by `fab stop` is stopped, ok;
- a password-tmp left behind is drift naming the file (never its content) until start removes it.
"""
from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import time

import pytest

from tests.lab import Lab
from tests.standin.jdk import kill_servers, make_jdk

ESB = ("esb-mgr", "esb-w1", "esb-w2")
#: this lab writes only the files the stand-in Carbon reads: its other node steps drift, so `start` runs with
#: --force here (test_lifecycle.py shows a drifted node refused)


@pytest.fixture(scope="module")
def health_session():
    lab = Lab.create(n_workers=2, first_octet=140)
    lab.jdk = make_jdk(lab.dir / "jdk8-stand-in", start_delay=0.5, stop_delay=0.3)
    yield lab
    kill_servers(lab)
    lab.close()


def toml(lab: Lab) -> str:
    return (lab.toml().replace("connect_timeout = 5\n", f'connect_timeout = 5\njava_home = "{lab.jdk}"\n', 1)
            + "\n[run]\nstart_timeout = 20\nstop_timeout = 10\ndrain_seconds = 1\n")


@pytest.fixture
def health(health_session):
    lab = health_session
    kill_servers(lab)
    lab.reset()
    lab.env = {}
    lab.write_toml(toml(lab))
    lab.write_env(SVN_PASSWORD="svn-pw-12345678")
    r = lab.fab("-H", "manager,workers", "patch-axis2", "set-hostnames", "set-worker-profile")
    assert r.returncode == 0, r.stdout + r.stderr
    yield lab
    kill_servers(lab)


def pid(lab, n: str) -> int | None:
    try:
        p = int((lab.hosts[n].home / "wso2carbon.pid").read_text())
        os.kill(p, 0)
        return p
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None


def status(lab) -> tuple[int, dict]:
    r = lab.fab("status", "--json")
    assert "Traceback" not in r.stderr, r.stderr
    return r.returncode, json.loads(r.stdout)


def settled_status(lab, seconds: float = 15) -> tuple[int, dict]:
    """status until it exits 0 (the members find each other after a start), or the time is up."""
    deadline = time.monotonic() + seconds
    while True:
        code, doc = status(lab)
        if code == 0 or time.monotonic() > deadline:
            return code, doc
        time.sleep(0.5)


def warnings_of(doc: dict) -> dict:
    return {n: w for n in ESB if (w := doc["hosts"][n]["status"].get("warnings"))}


def test_restart_needed_compares_bytes_not_mtimes(health):
    """A hand edit whose mtime lies a day before the server's start (a node clock stepped back: the old mtime
    comparison missed it) is found and named; the same bytes put back, with a fresh mtime, need no restart."""
    lab = health
    assert lab.fab("start", "--force").returncode == 0
    code, doc = settled_status(lab)
    assert code == 0 and not warnings_of(doc), json.dumps(doc, indent=1)
    carbon = lab.hosts["esb-w1"].conf("carbon.xml")
    started_with = carbon.read_bytes()
    carbon.write_bytes(started_with.replace(b"<HostName>esb.wso2.com</HostName>",
                                            b"<HostName>hand.example.com</HostName>"))
    past = time.time() - 86400
    os.utime(carbon, (past, past))
    code, doc = status(lab)
    assert set(warnings_of(doc)) == {"esb-w1"}, warnings_of(doc)
    assert warnings_of(doc)["esb-w1"][0]["what"] == "repository/conf/carbon.xml"
    r = lab.fab("verify", "--steps", "cluster", "--json")
    rows = json.loads(r.stdout)["hosts"]
    assert [w["what"] for w in rows["esb-w1"]["cluster"].get("warnings", []) if w["file"] == "restart needed"] == \
        ["repository/conf/carbon.xml"], rows["esb-w1"]
    carbon.write_bytes(started_with)  # put back byte for byte: its mtime is now, after the start
    code, doc = status(lab)
    assert code == 0 and not warnings_of(doc), warnings_of(doc)
    r = lab.fab("rolling-restart", "--needed")
    assert r.returncode == 0 and "no node needs a restart" in r.stdout, r.stdout


def test_a_server_started_outside_fab_is_restart_needed_unknown_and_rolling_restart_needed_takes_it(health):
    lab = health
    assert lab.fab("start", "--force").returncode == 0
    record = lab.state_dir("esb-w2") / "server-start.json"
    assert record.exists() and oct(record.stat().st_mode & 0o777) == "0o600"
    doc = json.loads(record.read_text())
    assert doc["pid"] == pid(lab, "esb-w2") and any(p.endswith("repository/conf/carbon.xml") for p in doc["files"])
    record.write_text("{not json")  # the node planted something (or an older release started it): no record
    code, doc = status(lab)
    warned = warnings_of(doc)
    assert set(warned) == {"esb-w2"} and warned["esb-w2"][0]["what"] == \
        "unknown (started outside fab; no record of its files)", warned
    before = {n: pid(lab, n) for n in ESB}
    r = lab.fab("rolling-restart", "--needed")
    assert r.returncode == 0, r.stdout + r.stderr
    after = {n: pid(lab, n) for n in ESB}
    assert after["esb-w2"] != before["esb-w2"] and all(after[n] == before[n] for n in ("esb-mgr", "esb-w1"))
    code, doc = settled_status(lab)
    assert code == 0 and not warnings_of(doc), json.dumps(doc, indent=1)


def test_a_killed_node_is_drift_with_its_fix_and_the_fix_as_printed_brings_it_back(health):
    lab = health
    assert lab.fab("start", "--force").returncode == 0
    assert settled_status(lab)[0] == 0
    gone = pid(lab, "esb-w1")
    os.kill(gone, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while os.path.exists(f"/proc/{gone}") and time.monotonic() < deadline:
        time.sleep(0.1)
    r = lab.fab("status")
    assert r.returncode == 2, r.stdout
    assert f"should run: not running (stale wso2carbon.pid, pid {gone} gone)" in r.stdout, r.stdout
    fixes = set(re.findall(r"fix: (fab -H esb-w1 start)", r.stdout))
    assert fixes == {"fab -H esb-w1 start"}, r.stdout
    r = lab.fab("verify", "--live", "--steps", "live", "--json")
    assert r.returncode == 2
    items = [i for i in json.loads(r.stdout)["hosts"]["esb-w1"]["live"]["items"] if i["file"] == "live server"]
    assert items == [{"file": "live server", "what": "should run", "wanted": "running",
                      "actual": f"not running (stale wso2carbon.pid, pid {gone} gone)",
                      "fix": "fab -H esb-w1 start"}], items
    r = lab.fab(*"fab -H esb-w1 start".split()[1:], "--force")  # the fix, as printed (--force: see FORCE)
    assert r.returncode == 0 and pid(lab, "esb-w1"), r.stdout + r.stderr
    code, doc = settled_status(lab)
    assert code == 0, json.dumps(doc, indent=1)
    r = lab.fab("-H", "esb-w1", "stop")  # stopped by fab: stopped, ok (its pid file stays, its pid gone)
    assert r.returncode == 0 and not pid(lab, "esb-w1"), r.stdout
    code, doc = settled_status(lab)
    assert code == 0 and doc["hosts"]["esb-w1"]["status"]["message"].startswith("stopped by fab stop"), \
        json.dumps(doc, indent=1)
    r = lab.fab("verify", "--live", "--steps", "live", "--json")
    assert not [i for i in json.loads(r.stdout)["hosts"]["esb-w1"]["live"].get("items", [])
                if i["file"] == "live server"]


def test_a_password_tmp_left_behind_is_drift_named_never_shown_and_start_removes_it(health):
    """A fab killed during a start leaves the keystore password in <product_home>/password-tmp: status and verify
    --live name the file (never its content) with the fix; start removes it."""
    lab = health
    left = lab.hosts["esb-w1"].home / "password-tmp"
    left.write_text("Left-Behind-Keystore-Pw")
    os.chmod(left, 0o600)
    r = lab.fab("status")
    assert r.returncode == 2 and f"{left}: left behind" in r.stdout and "fix: fab -H esb-w1 start" in r.stdout, \
        r.stdout
    r2 = lab.fab("verify", "--live", "--steps", "live", "--json")
    items = [i for i in json.loads(r2.stdout)["hosts"]["esb-w1"]["live"]["items"] if i["file"] == "live server"]
    assert [(i["what"], i["fix"]) for i in items] == [(str(left), "fab -H esb-w1 start")], items
    assert "Left-Behind" not in r.stdout + r.stderr + r2.stdout + r2.stderr
    r = lab.fab("-H", "esb-w1", "start", "--force")
    assert r.returncode == 0 and not left.exists(), r.stdout + r.stderr
    code, doc = settled_status(lab)
    assert code == 0 and doc["hosts"]["esb-w1"]["status"]["message"].startswith("running"), \
        json.dumps(doc, indent=1)


SVC = "esblabsvc"
KS_PW = "Llavé€Almacén9"


@pytest.fixture(scope="module")
def svc_user():
    """The server's own user (README: the product home is owned by the server's user), not root."""
    created = False
    try:
        pwd.getpwnam(SVC)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", SVC], check=True)
        created = True
    # sshd (UsePAM no) refuses a locked account: an unusable random password unlocks key logins
    subprocess.run(["chpasswd"], input=f"{SVC}:svc-{os.urandom(8).hex()}\n", text=True, check=True)
    yield pwd.getpwnam(SVC)
    if created:
        subprocess.run(["userdel", "--remove", SVC], capture_output=True)


def uid_of(p: int) -> int:
    line = next(ln for ln in open(f"/proc/{p}/status") if ln.startswith("Uid:"))
    return int(line.split()[1])


@pytest.fixture
def owned(health, svc_user):
    """esb-w1's product home owned by SVC (chown -R), Secure Vault on (the keystore password goes through
    password-tmp); a stand-in JDK SVC may run (the system's python: the venv's lies under /root, 0700)."""
    lab = health
    os.chmod(lab.dir, 0o711)
    jdk = make_jdk(lab.dir / "jdk8-any-user", start_delay=0.5, stop_delay=0.3, python="/usr/bin/python3")
    for f in jdk.iterdir():
        os.chmod(f, 0o755 if f.is_dir() or f.name == "bin" else 0o644)
    lab.write_toml(toml(lab).replace(f'java_home = "{lab.jdk}"', f'java_home = "{jdk}"')
                   + "\n[security]\nkeystore = true\nvault = true\n")
    lab.write_env(SVN_PASSWORD="svn-pw-12345678", KEYSTORE_PASSWORD=KS_PW, ADMIN_PASSWORD="Admin-pw-1",
                  WSO2_DB_PASSWORD="db-pw-12345678")
    r = lab.fab("-H", "manager,workers", "create-keystore", "secure-vault")
    assert r.returncode == 0, r.stdout + r.stderr
    home = lab.hosts["esb-w1"].home
    (home / "repository/logs").mkdir(parents=True, exist_ok=True)
    for p in [home, *home.rglob("*")]:
        os.lchown(p, svc_user.pw_uid, svc_user.pw_gid)
    os.chmod(home, 0o755)  # as the product's zip unpacks (the lab's copy of the fixture keeps its read-only folder)
    try:
        yield lab, svc_user, jdk
    finally:
        kill_servers(lab)
        shutil.rmtree(lab.dir / "svcstate", ignore_errors=True)
        os.chmod(lab.dir, 0o700)


def log_in_as_svc(lab, svc, name: str) -> None:
    """The node's login is SVC, with a state_dir of SVC's own (the lab's state folder is root's, 0700)."""
    state = lab.dir / "svcstate" / name
    state.mkdir(parents=True, exist_ok=True)
    for p in (state.parent, state):
        os.chown(p, svc.pw_uid, svc.pw_gid)
    lab.write_toml(lab.hosts_toml.read_text().replace(f'state_dir = "{lab.dir / "state" / name}"',
                                                      f'state_dir = "{state}"').replace(
        f"[hosts.{name}]\n", f'[hosts.{name}]\nuser = "{SVC}"\n', 1))


@pytest.mark.parametrize("login", ["root", "the-servers-user"])
def test_the_server_runs_as_the_product_homes_owner_and_password_tmp_reaches_it(owned, login):
    """The login is root and the product home belongs to the server's user (the script runs through sudo -u), or
    the login is that user itself: either way the server runs as the owner, reads password-tmp (0600, the owner's)
    and deletes it; stop works the same way."""
    lab, svc, jdk = owned
    if login != "root":
        log_in_as_svc(lab, svc, "esb-w1")
    r = lab.fab("-H", "esb-w1", "start", "--force")
    home = lab.hosts["esb-w1"].home
    log = home / "repository/logs/wso2carbon.log"
    assert r.returncode == 0, r.stdout + r.stderr + (log.read_text() if log.exists() else "")
    p = pid(lab, "esb-w1")
    assert p and uid_of(p) == svc.pw_uid  # the owner's server, not root's
    assert "keystore password read from password-tmp" in log.read_text()
    assert not (home / "password-tmp").exists() and KS_PW not in r.stdout + r.stderr
    assert (home / "wso2carbon.pid").stat().st_uid == svc.pw_uid
    r = lab.fab("-H", "esb-w1", "stop")
    assert r.returncode == 0 and "stopped (pid" in r.stdout and not pid(lab, "esb-w1"), r.stdout + r.stderr


def test_a_login_that_is_not_the_owner_and_may_not_sudo_is_refused_naming_both(owned):
    lab, svc, jdk = owned
    w2 = lab.hosts["esb-w2"]  # its product home is root's; the login is SVC, without sudo
    log_in_as_svc(lab, svc, "esb-w2")
    r = lab.fab("-H", "esb-w2", "start", "--force")
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"{w2.home} belongs to uid 0, not to the login user {SVC}" in r.stdout, r.stdout
    assert not pid(lab, "esb-w2") and not (w2.home / "password-tmp").exists()
