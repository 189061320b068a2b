"""Running the cluster (issue 22, CONTRACT §10) on real sshd hosts and Debian's nginx, with the product's real
bin/wso2server.sh and a stand-in JDK and Carbon (tests/standin/: Carbon 4.4 needs a JDK 7 or 8, which Debian 12
lacks; the stand-in writes its pid file, listens after its Offset, forms membership over TCP with its WKA members
and logs Carbon's own lines). A client loop POSTs through nginx during a rolling restart and counts."""
from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import uuid
import time
from pathlib import Path

import pytest

from tests.acceptance.cluster import ESB, cluster, svnserve  # noqa: F401
from tests.lab import Lab, free_port
from tests.lblab import Nginx, free_port_on
from tests.standin.clients import Clients
from tests.standin.jdk import kill_servers, make_jdk

HOST = "esb.wso2.com"
#: this lab writes only the files the stand-in Carbon reads (patch-axis2, set-hostnames, set-worker-profile): its
#: other node steps (map-hosts, datasources, jars, ...) drift, so `start` runs with --force here (a node whose verify
#: shows drift is refused: test_a_node_whose_files_drift_is_refused_by_start_naming_the_steps_and_the_fix)


@pytest.fixture(scope="module")
def life_session():
    lab = Lab.create(n_workers=2, extra_roles=("lb",), first_octet=40)
    lb = lab.hosts["lb1"]
    lab.http_port = free_port_on(lb.address)
    lab.https_port = free_port_on(lb.address)
    lab.nginx = Nginx.prepare(lab.dir / "nginx")
    lab.jdk = make_jdk(lab.dir / "jdk8-stand-in", start_delay=0.5, stop_delay=0.3)
    yield lab
    kill_servers(lab)
    lab.nginx.stop()
    lab.close()


def toml(lab: Lab, extra: str = "") -> str:
    lb = lab.hosts["lb1"]
    text = lab.toml().replace("lb_http_port = 80\n", f"lb_http_port = {lab.http_port}\n").replace(
        "lb_https_port = 443\n", f"lb_https_port = {lab.https_port}\n").replace(
        "connect_timeout = 5\n", f'connect_timeout = 5\njava_home = "{lab.jdk}"\n', 1)
    return (text + f'\n[certs]\ndir = "{lb.root / "ssl"}"\n' + lab.nginx.toml(lb.address)
            + "\n[run]\nstart_timeout = 20\nstop_timeout = 10\ndrain_seconds = 1\n" + extra)


#: what the `life` fixture's fab runs write (host roots: product homes, hosts files, the lb's certs; the nodes'
#: state dirs; the local run state; nginx's upstream files), copied after the first test made them
WRITTEN = ("hosts", "state", ".esb-state", "nginx/conf.d")


def restored(lab: Lab) -> bool:
    """The lab as the `life` fixture's fab runs left it the first time (their files copied back, modes and times
    kept: the same bytes every run writes, certs aside, which are the first run's); False before that first time.
    The fab runs are no test's subject here (test_certs.py, test_loadbalancer.py and the step tests run them)."""
    snap = lab.dir / "life-snapshot"
    if not snap.is_dir():
        return False
    for rel in WRITTEN:
        shutil.rmtree(lab.dir / rel, ignore_errors=True)
        if (snap / rel).exists():
            shutil.copytree(snap / rel, lab.dir / rel, symlinks=True)
    return True


@pytest.fixture
def life(life_session):
    """The module lab with no server running, its homes and nginx as create-certs, the three node steps the stand-in
    reads and configure-lb leave them (run by the first test, copied back for the others), nginx started."""
    lab = life_session
    kill_servers(lab)
    lab.nginx.stop()
    lab.extra_toml, lab.env = "", {}
    if not restored(lab):
        for f in lab.nginx.conf_dir.iterdir():
            f.unlink()
        lab.reset()
        lab.write_toml(toml(lab))
        lab.write_env(SVN_PASSWORD="svn-pw-12345678")
        for args in (("create-certs",), ("-H", "manager,workers", "patch-axis2", "set-hostnames",
                                         "set-worker-profile"), ("configure-lb",)):
            r = lab.fab(*args)
            assert r.returncode == 0, r.stdout + r.stderr
        for rel in WRITTEN:
            if (lab.dir / rel).exists():
                shutil.copytree(lab.dir / rel, lab.dir / "life-snapshot" / rel, symlinks=True)
    lab.write_toml(toml(lab))
    lab.write_env(SVN_PASSWORD="svn-pw-12345678")
    lab.nginx.start()
    yield lab
    kill_servers(lab)


def pid(lab, n: str) -> int | None:
    f = lab.hosts[n].home / "wso2carbon.pid"
    try:
        p = int(f.read_text())
        os.kill(p, 0)
        return p
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None


def warnings_of(doc: dict) -> dict:
    return {n: doc["hosts"][n]["status"].get("warnings") for n in ESB if doc["hosts"][n]["status"].get("warnings")}


def logs_of(lab, n: str) -> str:
    """A node's log end and the stand-in's own fault file: what a failed assertion shows."""
    d = lab.hosts[n].home / "repository/logs"
    return "\n".join(f"--- {n}: {f.name}\n" + f.read_text(errors="replace")[-3000:]
                     for f in (d / "wso2carbon.log", d / "standin-faults.log") if f.exists())


def status(lab) -> tuple[int, dict]:
    r = lab.fab("status", "--json")
    assert "Traceback" not in r.stderr, r.stderr
    return r.returncode, json.loads(r.stdout)


def test_start_then_status_shows_every_node_running_and_seeing_every_other(life):
    lab = life
    assert (lab.hosts["esb-w1"].home / "bin/wso2server.sh").read_bytes().count(b"-DworkerNode=true") == 1
    r = lab.fab("start", "--force", "--dry-run")
    assert r.returncode == 0 and r.stdout.count(": would change") == 3 and not any(pid(lab, n) for n in ESB), r.stdout
    r = lab.fab("start", "--force", "--dry-run", "--json")  # the same as data (issue 31)
    doc = json.loads(r.stdout)
    assert doc["mode"] == "start" and doc["dry_run"] is True and doc["tasks"] == ["start"], doc
    for n in ESB:
        f = doc["hosts"][n]["start"]["fields"]
        assert (f["action"], f["state_before"], f["state_after"], f["pid"]) == ("start", "stopped", "running", None), f
        assert f["balancer"] == (None if n == "esb-mgr" else "in"), f
    r = lab.fab("start", "--force")
    assert r.returncode == 0, r.stdout + r.stderr
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("[")]
    assert lines[0].startswith("[esb-mgr] start: changed: started, pid"), lines  # the manager first
    assert all(pid(lab, n) for n in ESB)
    log = (lab.hosts["esb-w1"].home / "repository/logs/wso2carbon.log").read_text()
    assert "workerNode=true" in log and "WSO2 Carbon started in" in log
    assert "workerNode=false" in (lab.hosts["esb-mgr"].home / "repository/logs/wso2carbon.log").read_text()
    deadline = time.monotonic() + 15
    while True:
        code, doc = status(lab)
        if code == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert code == 0, json.dumps(doc, indent=1)
    assert doc["mode"] == "status"  # the command, not the mode it reads in (issue 31)
    for n in ESB:
        row = doc["hosts"][n]["status"]
        others = sorted(set(ESB) - {n})
        assert row["status"] == "ok" and f"sees {', '.join(others)}" in row["message"], row
        f = row["fields"]  # the same as data, no sentence to parse
        assert f["state"] == "running" and f["pid"] == pid(lab, n) and f["since"].endswith("Z"), f
        assert f["members_seen"] == others and f["members_missing"] == [] and f["restart_needed"] == [], f
        assert f["ports"] and all(f["ports"].values()), f
        assert f.get("balancer") == ("in" if n != "esb-mgr" else None), f
    r = lab.fab("verify", "--live", "--steps", "live", "--json")  # live reads membership from the log
    rows = json.loads(r.stdout)["hosts"]
    for n in ESB:
        assert any(p.endswith(": a member the running server sees") for p in rows[n]["live"].get("passed", [])), \
            rows[n]["live"]
    pids = {n: pid(lab, n) for n in ESB}
    r = lab.fab("start", "--force", "--json")  # running nodes are left alone
    doc = json.loads(r.stdout)
    assert r.returncode == 0 and doc["mode"] == "start" and doc["dry_run"] is False, r.stdout
    for n in ESB:
        row = doc["hosts"][n]["start"]
        assert row["status"] == "ok" and row["message"].startswith("running (pid"), row
        assert {k: row["fields"][k] for k in ("action", "state_before", "state_after", "pid_before", "pid")} == \
            {"action": "none", "state_before": "running", "state_after": "running", "pid_before": pids[n],
             "pid": pids[n]}, row
    r = lab.fab("stop", "--json")
    doc = json.loads(r.stdout)
    assert r.returncode == 0 and doc["mode"] == "stop", r.stdout
    for n in ESB:
        row = doc["hosts"][n]["stop"]
        assert row["status"] == "changed" and row["message"].startswith("stopped (pid"), row
        f = row["fields"]
        assert (f["action"], f["state_before"], f["state_after"], f["pid_before"], f["pid"]) == \
            ("stop", "running", "stopped", pids[n], None), f
        assert f["balancer"] == (None if n == "esb-mgr" else "out"), f
    assert not any(pid(lab, n) for n in ESB)
    assert "Member left" in (lab.hosts["esb-mgr"].home / "repository/logs/wso2carbon.log").read_text()
    code, doc = status(lab)
    assert code == 0 and all(doc["hosts"][n]["status"]["message"].startswith("stopped") for n in ESB)


def test_a_worker_with_a_wrong_member_port_is_drift_in_status_and_named(life):
    lab = life
    w2 = lab.hosts["esb-w2"]
    axis2 = w2.conf("axis2/axis2.xml")
    wrong = free_port(w2.address)
    axis2.write_text(axis2.read_text().replace(f'"localMemberPort">{w2.member_port}<', f'"localMemberPort">{wrong}<'))
    assert lab.fab("start", "--force").returncode == 0
    time.sleep(3)
    code, doc = status(lab)
    assert code == 2, json.dumps(doc, indent=1)
    for n in ("esb-mgr", "esb-w1"):
        items = doc["hosts"][n]["status"]["items"]
        assert any(i["what"] == f"esb-w2 ({w2.address}:{w2.member_port})" and i["actual"] == "not seen"
                   for i in items), items


def test_a_change_after_the_start_needs_a_restart_on_exactly_that_node(life):
    """esb-w1 starts with a hand-edited carbon.xml; set-hostnames then puts the project's bytes there: the running
    server read other bytes, so it needs a restart (and the patch says so, naming it)."""
    lab = life
    carbon = lab.hosts["esb-w1"].conf("carbon.xml")
    carbon.write_text(carbon.read_text(encoding="latin-1").replace("<HostName>esb.wso2.com</HostName>",
                                                                    "<HostName>hand.example.com</HostName>"),
                      encoding="latin-1")
    assert lab.fab("start", "--force").returncode == 0
    code, doc = status(lab)
    assert not warnings_of(doc), warnings_of(doc)
    r = lab.fab("-H", "esb-w1", "set-hostnames")
    assert r.returncode == 0 and "restart needed on esb-w1; next: fab rolling-restart --needed" in r.stdout, r.stdout
    code, doc = status(lab)
    warned = {n for n in ESB if doc["hosts"][n]["status"].get("warnings")}
    assert warned == {"esb-w1"}, doc
    assert "repository/conf/carbon.xml" in doc["hosts"]["esb-w1"]["status"]["warnings"][0]["what"]
    r = lab.fab("verify", "--steps", "cluster", "--json")  # verify says so too, as a warning
    rows = json.loads(r.stdout)["hosts"]
    assert [w["file"] for w in rows["esb-w1"]["cluster"].get("warnings", []) if w["file"] == "restart needed"] == \
        ["restart needed"], rows["esb-w1"]
    assert not any(w["file"] == "restart needed" for n in ("esb-mgr", "esb-w2")
                   for w in rows[n]["cluster"].get("warnings", []))
    before = {n: pid(lab, n) for n in ESB}
    r = lab.fab("rolling-restart", "--needed")
    assert r.returncode == 0, r.stdout + r.stderr
    after = {n: pid(lab, n) for n in ESB}
    assert after["esb-w1"] != before["esb-w1"] and all(after[n] == before[n] for n in ("esb-mgr", "esb-w2"))
    code, doc = status(lab)
    assert not warnings_of(doc), warnings_of(doc)
    r = lab.fab("rolling-restart", "--needed")
    assert r.returncode == 0 and "no node needs a restart" in r.stdout, r.stdout


def test_a_rolling_restart_of_every_node_drops_no_request_nor_does_a_plain_restart_of_the_workers(life):
    lab = life
    assert lab.fab("start", "--force").returncode == 0
    time.sleep(2)
    before = {n: pid(lab, n) for n in ESB}
    with Clients(lab.hosts["lb1"].address, lab.http_port, HOST) as rolling:
        time.sleep(1)
        r = lab.fab("rolling-restart", "--json")
        time.sleep(1)
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert doc["mode"] == "rolling-restart", doc
    for n in ESB:  # each node's turn as data: restarted, a new pid, back in the balancer
        f = doc["hosts"][n]["rolling-restart"]["fields"]
        assert (f["action"], f["state_before"], f["state_after"]) == ("restart", "running", "running"), f
        assert f["pid_before"] == before[n] and f["pid"] == pid(lab, n) and f["pid"] != before[n], f
        assert f["balancer"] == (None if n == "esb-mgr" else "in") and f["members_lost"] == [], f
    print(f"\nrolling-restart of 3 nodes: {rolling.ok} requests answered, {rolling.failed} failed")
    assert rolling.ok > 20 and rolling.failed == 0, rolling.errors[:5]
    assert not list(filter(None, (b"down" in f.read_bytes() for f in lab.nginx.conf_dir.iterdir())))
    with Clients(lab.hosts["lb1"].address, lab.http_port, HOST) as plain:
        time.sleep(1)
        r = lab.fab("-H", "workers", "restart", "--json")
        time.sleep(1)
    assert r.returncode == 0, r.stdout + r.stderr + logs_of(lab, "esb-w1") + logs_of(lab, "esb-w2")
    print(f"plain restart of the workers: {plain.ok} requests answered, {plain.failed} failed")
    assert plain.ok > 20 and plain.failed == 0, plain.errors[:5]  # issue 30: restart drains each worker first
    doc = json.loads(r.stdout)
    assert doc["mode"] == "restart" and set(doc["hosts"]) == {"esb-w1", "esb-w2"}, doc
    for n in ("esb-w1", "esb-w2"):
        row = doc["hosts"][n]["restart"]
        assert row["message"].endswith("; back in lb1"), row
        f = row["fields"]
        assert (f["action"], f["state_after"], f["balancer"], f["forced"]) == ("restart", "running", "in", False), f
        assert f["pid"] == pid(lab, n) and f["pid"] != f["pid_before"], f


def test_a_worker_that_does_not_come_back_stays_out_and_the_others_serve(life):
    lab = life
    assert lab.fab("start", "--force").returncode == 0
    (lab.hosts["esb-w1"].home / "standin-refuse-start").write_text("")
    with Clients(lab.hosts["lb1"].address, lab.http_port, HOST) as clients:
        r = lab.fab("rolling-restart")
        time.sleep(1)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "[esb-w1] rolling-restart: failed: esb-w1 did not come back: " in r.stdout, r.stdout
    assert "stays out of the balancer (lb1), the other nodes serve" in r.stdout
    assert "[esb-w2] rolling-restart: skipped: not run: the rolling restart stopped at esb-w1" in r.stdout
    w1 = lab.hosts["esb-w1"].address
    assert f"server {w1}:8280 down;".encode() in (lab.nginx.conf_dir / "esb.http.conf").read_bytes()
    assert pid(lab, "esb-w2") and pid(lab, "esb-mgr") and not pid(lab, "esb-w1")
    assert clients.ok > 5 and clients.failed == 0, clients.errors[:3]
    code, doc = status(lab)  # it should run (a restart is no stop): drift, with the fix
    row = doc["hosts"]["esb-w1"]["status"]
    assert code == 2 and row["status"] == "drift" and row["message"].startswith("should run: not running") \
        and "fix: fab -H esb-w1 start" in row["message"], row


#: this run's own value (non-ASCII): the scan below looks at every process of the machine, and another test (another
#: xdist worker, another checkout) may hold a fixed value in its environment at that moment
KS_PW = "Llavé€Almacén9-" + uuid.uuid4().hex[:8]


def scan_proc(secret: bytes, stop: threading.Event, found: list) -> None:
    """Every process's command line and environment, again and again, until stopped."""
    while not stop.is_set():
        for d in Path("/proc").iterdir():
            if not d.name.isdigit():
                continue
            for part in ("cmdline", "environ"):
                try:
                    if secret in (d / part).read_bytes():
                        found.append(f"{d.name}/{part}")
                except OSError:
                    pass


def test_with_secure_vault_the_keystore_password_reaches_carbon_only_through_password_tmp(life):
    lab = life
    lab.write_toml(toml(lab, "\n[security]\nkeystore = true\nvault = true\n"))
    lab.write_env(SVN_PASSWORD="svn-pw-12345678", KEYSTORE_PASSWORD=KS_PW, ADMIN_PASSWORD="Admin-pw-1",
                  WSO2_DB_PASSWORD="db-pw-12345678")
    r = lab.fab("-H", "manager,workers", "create-keystore", "secure-vault")
    assert r.returncode == 0, r.stdout + r.stderr
    stop, found = threading.Event(), []
    scanner = threading.Thread(target=scan_proc, args=(KS_PW.encode(), stop, found), daemon=True)
    scanner.start()
    try:
        r = lab.fab("start", "--force")
    finally:
        stop.set()
        scanner.join(10)
    assert r.returncode == 0, r.stdout + r.stderr
    assert found == [], found  # never on a command line, never in an environment
    for n in ESB:
        home = lab.hosts[n].home
        assert not (home / "password-tmp").exists()
        assert "keystore password read from password-tmp" in (home / "repository/logs/wso2carbon.log").read_text()
    assert KS_PW not in r.stdout + r.stderr


def test_a_failed_start_leaves_no_password_tmp(life):
    lab = life
    lab.write_toml(toml(lab, "\n[security]\nkeystore = true\nvault = true\n"))
    lab.write_env(SVN_PASSWORD="svn-pw-12345678", KEYSTORE_PASSWORD=KS_PW, ADMIN_PASSWORD="Admin-pw-1",
                  WSO2_DB_PASSWORD="db-pw-12345678")
    assert lab.fab("-H", "manager,workers", "create-keystore", "secure-vault").returncode == 0
    (lab.hosts["esb-w2"].home / "standin-refuse-start").write_text("")
    r = lab.fab("-H", "esb-w2", "start", "--force")
    assert r.returncode == 1 and "[esb-w2] start: failed: " in r.stdout, r.stdout
    assert not (lab.hosts["esb-w2"].home / "password-tmp").exists()


def ps_of(p: int) -> str:
    return Path(f"/proc/{p}/cmdline").read_bytes().replace(b"\0", b" ").decode()


@pytest.mark.parametrize("case", ["stale-pid", "foreign-pid", "no-start-line", "port-held", "jdk-17", "no-jdk",
                                  "no-run-bit", "jdk-17-release-says-8"])
def test_what_cannot_start_is_a_clear_error_naming_the_node_and_nothing_is_left_half_done(life, case):
    lab = life
    w1 = lab.hosts["esb-w1"]
    held = None
    other = None
    if case == "stale-pid":
        (w1.home / "wso2carbon.pid").write_text("999999")
    elif case == "foreign-pid":
        other = __import__("subprocess").Popen(["sleep", "60"])
        (w1.home / "wso2carbon.pid").write_text(str(other.pid))
    elif case == "no-start-line":  # a wait expected to expire: a start_timeout of its own, not the lab's 20 s
        (w1.home / "standin-no-start-line").write_text("")
        lab.write_toml(toml(lab).replace("start_timeout = 20\n", "start_timeout = 5\n"))
    elif case == "port-held":
        held = socket.create_server((w1.address, 8280))
    elif case == "jdk-17":
        jdk = make_jdk(lab.dir / "jdk17", version="17.0.15")
        lab.write_toml(toml(lab).replace(f'java_home = "{lab.jdk}"', f'java_home = "{jdk}"'))
    elif case == "jdk-17-release-says-8":  # java -version decides, as the script runs it (verify --live too)
        jdk = make_jdk(lab.dir / "jdk17-release-8", version="17.0.15")
        (jdk / "release").write_text('JAVA_VERSION="1.8.0_392"\n')
        lab.write_toml(toml(lab).replace(f'java_home = "{lab.jdk}"', f'java_home = "{jdk}"'))
    elif case == "no-jdk":
        lab.write_toml(toml(lab).replace(f'java_home = "{lab.jdk}"', f'java_home = "{lab.dir}/no-jdk"'))
    elif case == "no-run-bit":
        os.chmod(w1.home / "bin/wso2server.sh", 0o644)
    try:
        r = lab.fab("-H", "esb-w1", "start", "--force")
    finally:
        if held:
            held.close()
    want = {"stale-pid": None,
            "foreign-pid": "wso2carbon.pid names pid",
            "no-start-line": "did not come up within [run].start_timeout = 5 s: waited for 'WSO2 Carbon started "
                             "in' in the log; stopped again",
            "port-held": f"ports 8280 on {w1.address} already held by another process".replace("ports", "port"),
            "jdk-17": "is Java 17.0.15; Carbon 4.4's start script needs 1.7 or 1.8",
            "jdk-17-release-says-8": "is Java 17.0.15; Carbon 4.4's start script needs 1.7 or 1.8",
            "no-jdk": f"{lab.dir}/no-jdk/bin/java is missing",
            "no-run-bit": "bin/wso2server.sh has no run bit (mode 644); chmod +x it"}[case]
    if want is None:  # a stale pid file is no obstacle: noted, the node starts
        assert r.returncode == 0 and "stale wso2carbon.pid (pid 999999 is gone)" in r.stdout, r.stdout
        return
    assert r.returncode == 1, r.stdout + r.stderr
    assert "[esb-w1] start: failed: " in r.stdout and want in r.stdout, r.stdout
    if case == "no-start-line":  # stopped again with TERM (Carbon's shutdown hook ran), not left to a KILL
        assert "Shutting down WSO2 Carbon" in (w1.home / "repository/logs/wso2carbon.log").read_text(), \
            logs_of(lab, "esb-w1")
    if case == "foreign-pid":
        assert other.poll() is None and "not this node's Carbon (sleep 60" in r.stdout  # never signalled
        other.kill()
    assert not pid(lab, "esb-w1") or case == "foreign-pid"  # nothing left running
    assert not (w1.home / "password-tmp").exists()


def test_after_setup_cluster_start_brings_every_node_up_and_each_sees_every_other(cluster, tmp_path):
    """The whole guide (databases, SVN, every node step), then `start`, as the README says."""
    lab = cluster
    jdk = make_jdk(tmp_path / "jdk8-stand-in", start_delay=0.5, stop_delay=0.3)
    lab.write_toml(lab.toml().replace("connect_timeout = 5\n", f'connect_timeout = 5\njava_home = "{jdk}"\n', 1)
                   + "\n[run]\nstart_timeout = 30\nstop_timeout = 10\n")
    try:
        r = lab.fab("setup-cluster")
        assert r.returncode == 0, r.stdout + r.stderr
        r = lab.fab("start", "--force")
        assert r.returncode == 0 and r.stdout.count(": changed: started, pid") == 3, r.stdout + r.stderr
        deadline = time.monotonic() + 15
        while (code := status(lab)[0]) != 0 and time.monotonic() < deadline:
            time.sleep(0.5)
        code, doc = status(lab)
        assert code == 0, json.dumps(doc, indent=1)
        for n in ESB:
            assert f"sees {', '.join(sorted(set(ESB) - {n}))}" in doc["hosts"][n]["status"]["message"]
        r = lab.fab("stop")
        assert r.returncode == 0 and not any(pid(lab, n) for n in ESB), r.stdout
    finally:
        kill_servers(lab)


def test_links_a_node_planted_are_not_followed_by_start_or_status(life, tmp_path):
    """password-tmp planted as a link (the keystore password would land where the node chose) and the log planted
    as a link to a file only root may read (its lines are quoted in messages): both refused, nothing written or
    shown (issue 24's rule for the lifecycle files)."""
    lab = life
    lab.write_toml(toml(lab, "\n[security]\nkeystore = true\nvault = true\n"))
    lab.write_env(SVN_PASSWORD="svn-pw-12345678", KEYSTORE_PASSWORD=KS_PW, ADMIN_PASSWORD="Admin-pw-1",
                  WSO2_DB_PASSWORD="db-pw-12345678")
    assert lab.fab("-H", "manager,workers", "create-keystore", "secure-vault").returncode == 0
    w1 = lab.hosts["esb-w1"]
    catch = tmp_path / "catch"
    os.symlink(catch, w1.home / "password-tmp")
    r = lab.fab("-H", "esb-w1", "start", "--force")
    assert r.returncode == 1 and "password-tmp is not a plain file (a link?); refused" in r.stdout, r.stdout
    assert not catch.exists() and not pid(lab, "esb-w1")
    (w1.home / "password-tmp").unlink()
    outside = tmp_path / "outside"  # a link to a file outside the product home: that file is unchanged
    outside.write_bytes(b"the operator's own file\n")
    os.symlink(outside, w1.home / "password-tmp")
    r = lab.fab("-H", "esb-w1", "start", "--force")
    assert r.returncode == 1 and "password-tmp is not a plain file (a link?); refused" in r.stdout, r.stdout
    assert outside.read_bytes() == b"the operator's own file\n" and not pid(lab, "esb-w1")
    r = lab.fab("-H", "esb-w1", "status")  # the link is reported (never followed), with the fix
    assert r.returncode == 2 and f"{w1.home}/password-tmp: left behind" in r.stdout, r.stdout
    (w1.home / "password-tmp").unlink()
    secret = tmp_path / "root-only"
    secret.write_text("TOPSECRET Member joined [x]: /1.2.3.4:5\n")
    os.chmod(secret, 0o600)
    log = w1.home / "repository/logs/wso2carbon.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.unlink(missing_ok=True)
    os.symlink(secret, log)
    r = lab.fab("-H", "esb-w1", "start", "--force")
    assert r.returncode == 1 and "wso2carbon.log is not a plain file (a link?); refused" in r.stdout, r.stdout
    assert "TOPSECRET" not in r.stdout + r.stderr and not (w1.home / "password-tmp").exists()


@pytest.mark.parametrize("rotation", ["copytruncate", "dated-rename"])
def test_a_log_rotated_during_the_start_never_gets_a_healthy_server_killed(life, rotation):
    """logrotate's copytruncate (the log copied to wso2carbon.log.1, then emptied in place while Carbon appends) and
    log4j's dated rename (wso2carbon.log.<date>, a new log begun), done by the test while `start` waits for the start
    line: the start line lands in a log shorter than the offset start remembered, and the server is up."""
    lab = life
    slow = make_jdk(lab.dir / "jdk8-slow-start", start_delay=1.0)  # a second between the two lines: time to rotate
    lab.write_toml(toml(lab).replace(f'java_home = "{lab.jdk}"', f'java_home = "{slow}"'))
    w1 = lab.hosts["esb-w1"]
    log = w1.home / "repository/logs/wso2carbon.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("TID: [-1234] [] [2026-12-01 10:00:00,000]  INFO {x} -  an older server's line {x}\n" * 400)
    done = threading.Event()

    def rotate():
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and "Starting WSO2 Carbon" not in log.read_text(errors="replace"):
            time.sleep(0.02)
        if rotation == "copytruncate":
            (log.parent / "wso2carbon.log.1").write_bytes(log.read_bytes())
            with open(log, "r+b") as f:
                f.truncate(0)
        else:
            log.rename(log.parent / "wso2carbon.log.2026-12-07")
        done.set()

    rotator = threading.Thread(target=rotate, daemon=True)
    rotator.start()
    r = lab.fab("-H", "esb-w1", "start", "--force")
    rotator.join(25)
    assert done.is_set(), "the test never saw the start begin"
    assert r.returncode == 0 and "[esb-w1] start: changed: started, pid" in r.stdout, r.stdout + logs_of(lab, "esb-w1")
    assert log.stat().st_size < 400 * 80 and "WSO2 Carbon started in" in log.read_text()  # logged after the rotation
    assert pid(lab, "esb-w1")


def test_a_node_whose_files_drift_is_refused_by_start_naming_the_steps_and_the_fix(life):
    """A node as shipped (or hand-edited since the project wrote it) would come up on other settings than the
    cluster's (the shipped clustering, ports that collide): start refuses it, naming the drifted node steps (the
    engine's verify of them) and the fix; dry-run says so too; --force starts it as it is."""
    lab = life
    w1 = lab.hosts["esb-w1"]
    axis2 = w1.conf("axis2/axis2.xml")
    axis2.write_text(axis2.read_text().replace(f'"localMemberPort">{w1.member_port}<', '"localMemberPort">4000<'))
    before = {p: p.read_bytes() for p in (w1.home / "repository/conf").rglob("*") if p.is_file()}
    for args in (("--dry-run",), ()):
        r = lab.fab("-H", "esb-w1", "start", *args)
        assert r.returncode == 1, r.stdout + r.stderr
        assert ("would not start: " if args else "not started: ") + "its files differ from what the project writes " \
            "(fab verify: " in r.stdout, r.stdout
        assert "patch-axis2" in r.stdout and "set-hostnames" not in r.stdout.split("fab verify: ")[1].split(")")[0]
        assert "fix: fab -H esb-w1 setup-worker, or `fab -H esb-w1 start --force`" in r.stdout, r.stdout
        assert not pid(lab, "esb-w1") and not (w1.home / "repository/logs/wso2carbon.log").exists()
    assert {p: p.read_bytes() for p in (w1.home / "repository/conf").rglob("*") if p.is_file()} == before
    r = lab.fab("-H", "esb-mgr", "start")  # the manager's files: the same (as shipped where this lab left them)
    assert r.returncode == 1 and "fix: fab -H esb-mgr setup-manager" in r.stdout, r.stdout
    r = lab.fab("-H", "esb-w1", "start", "--force")
    assert r.returncode == 0 and pid(lab, "esb-w1"), r.stdout + r.stderr
    kill_servers(lab)
    lab.reset()  # as shipped: refused too (the shipped clustering section: patch-axis2, set-hostnames, ...)
    r = lab.fab("-H", "esb-w2", "start")
    assert r.returncode == 1 and "patch-axis2" in r.stdout and "set-worker-profile" in r.stdout, r.stdout
    assert not pid(lab, "esb-w2")
