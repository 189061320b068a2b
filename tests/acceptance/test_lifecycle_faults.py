"""Operations under faults (issue 30): a dead, unreachable or unstartable node never turns a restart into an
outage. One fault at a time, on test_lifecycle.py's lab (real sshd hosts, real nginx, the product's real
bin/wso2server.sh with the stand-in JDK and Carbon), with the client loop through nginx counting failed requests:
none may fail while the balancer has a live backend. After a failure the output ends with the commands that
recover, and the tests run them as printed."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time

from tests.acceptance.cluster import ESB
import pytest

from tests.acceptance.test_lifecycle import HOST, life, logs_of, pid, toml  # noqa: F401
from tests.lab import REPO, Lab, fab_bin
from tests.lblab import Nginx, free_port_on
from tests.standin.clients import Clients
from tests.standin.jdk import kill_servers, make_jdk


@pytest.fixture(scope="module")
def life_session():
    """test_lifecycle.py's lab (its `life` fixture resets it for each test), on addresses of its own."""
    lab = Lab.create(n_workers=2, extra_roles=("lb",), first_octet=210)
    lb = lab.hosts["lb1"]
    lab.http_port = free_port_on(lb.address)
    lab.https_port = free_port_on(lb.address)
    lab.nginx = Nginx.prepare(lab.dir / "nginx")
    lab.jdk = make_jdk(lab.dir / "jdk8-stand-in", start_delay=0.5, stop_delay=0.3)
    yield lab
    kill_servers(lab)
    lab.nginx.stop()
    lab.close()


def downs(lab) -> bytes:
    """The nginx upstream file's `down` lines (what the balancer leaves out)."""
    return b"".join(ln for ln in (lab.nginx.conf_dir / "esb.http.conf").read_bytes().splitlines(True)
                    if b" down;" in ln)


def nginx_log(lab) -> str:
    """nginx's error log end: why a request failed."""
    f = lab.nginx.prefix / "error.log"
    return f.read_text(errors="replace")[-2000:] if f.exists() else ""


def kill9(lab, n: str) -> None:
    """SIGKILL the node's server and wait until it is gone (its sockets closed)."""
    p = pid(lab, n)
    os.kill(p, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while os.path.exists(f"/proc/{p}") and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)


def started(lab) -> dict:
    r = lab.fab("start", "--force")  # this lab writes only the files the stand-in reads (see FORCE)
    assert r.returncode == 0, r.stdout + r.stderr
    time.sleep(1)
    return {n: pid(lab, n) for n in ESB}


#: this lab writes only the files the stand-in Carbon reads: its other node steps drift, so a `start` (printed or
#: not) runs with --force here (test_lifecycle.py shows a drifted node refused)
FORCE = {"start": ("--force",)}


def recovery(out: str) -> list[list[str]]:
    """The commands the output ends with (after `to recover`), as argument lists."""
    tail = out[out.index("to recover"):]
    return [ln.split()[1:] for ln in tail.splitlines() if ln.startswith("  fab ")]


def recovered(lab, out: str) -> None:
    """Run the printed recovery as printed; then every node runs and none is down in nginx."""
    cmds = recovery(out)
    assert cmds, out
    for args in cmds:
        r = lab.fab(*args, *FORCE.get(args[-1], ()))
        assert r.returncode == 0, " ".join(args) + "\n" + r.stdout + r.stderr
    assert all(pid(lab, n) for n in ESB) and downs(lab) == b"", downs(lab)


def serves(lab, seconds: float = 1.5) -> None:
    """The balancer answers every request now."""
    with Clients(lab.hosts["lb1"].address, lab.http_port, HOST) as c:
        time.sleep(seconds)
    assert c.ok > 3 and c.failed == 0, c.errors[:3]


def test_an_unreachable_worker_or_balancer_is_a_row_and_nothing_stops(life):
    lab = life
    before = started(lab)
    w2 = lab.hosts["esb-w2"]
    lab.stop(w2)  # its sshd gone: the server itself still serves
    try:
        with Clients(lab.hosts["lb1"].address, lab.http_port, HOST) as clients:
            for args in (("rolling-restart", "--dry-run"), ("rolling-restart",), ("-H", "esb-w1,esb-mgr",
                                                                                   "rolling-restart")):
                r = lab.fab(*args)
                assert r.returncode == 1 and "Traceback" not in r.stderr and "nothing to do" not in r.stdout, \
                    r.stdout + r.stderr
                if "-H" not in args:
                    assert "[esb-w2] rolling-restart: failed: unreachable: " in r.stdout, r.stdout
                assert "[esb-w1] rolling-restart: failed: not restarted: no other worker serves (esb-w2 is " \
                       "unreachable)" in r.stdout, r.stdout
            r = lab.fab("-H", "esb-w1", "stop")  # esb-w2 may serve or not: nobody can tell
            assert r.returncode == 1 and "[esb-w1] stop: failed: refused: esb-w1 is the last serving worker" \
                in r.stdout, r.stdout
            r = lab.fab("rolling-restart", "--needed")
            assert r.returncode == 1 and "no node needs a restart" not in r.stdout, r.stdout
            assert "[esb-w2] rolling-restart: failed: unreachable: " in r.stdout and \
                "cannot tell whether it needs a restart" in r.stdout, r.stdout
        assert {n: pid(lab, n) for n in ESB} == before and downs(lab) == b""  # nothing stopped, nothing out
        assert clients.failed == 0, clients.errors[:3]
        out = r.stdout
    finally:
        lab.start(w2)
    assert "esb-w2: make it reachable over SSH" in out
    recovered(lab, out)
    lb = lab.hosts["lb1"]
    lab.stop(lb)
    try:
        r = lab.fab("rolling-restart")
        stop = lab.fab("-H", "esb-w1", "stop")
    finally:
        lab.start(lb)
    assert r.returncode == 1 and "[lb1] rolling-restart: failed: the balancer is unreachable: " in r.stdout, r.stdout
    assert "did not come back" not in r.stdout and "Traceback" not in r.stderr, r.stdout + r.stderr
    assert stop.returncode == 1 and "[lb1] stop: failed: the balancer is unreachable: " in stop.stdout and \
        "[esb-w1] stop: failed: not stopped: the balancer (lb1) is unreachable" in stop.stdout, stop.stdout
    assert "Traceback" not in stop.stderr, stop.stderr
    assert all(pid(lab, n) for n in ESB)


def test_a_dead_worker_is_started_first_and_the_live_one_never_leaves_the_balancer_alone(life):
    lab = life
    started(lab)
    kill9(lab, "esb-w1")
    with Clients(lab.hosts["lb1"].address, lab.http_port, HOST) as clients:
        time.sleep(0.5)
        r = lab.fab("rolling-restart")
        time.sleep(0.5)
    assert r.returncode == 0, r.stdout + r.stderr + logs_of(lab, "esb-w1")
    rows = [ln.split("]")[0][1:] for ln in r.stdout.splitlines() if ln.startswith("[esb-")]
    assert rows[:2] == ["esb-w1", "esb-w2"], r.stdout  # the dead one first: it adds a backend
    assert clients.ok > 5 and clients.failed == 0, (clients.errors[:3], r.stdout, nginx_log(lab))
    assert all(pid(lab, n) for n in ESB) and downs(lab) == b""


def test_a_worker_that_dies_mid_roll_is_reported_and_the_live_one_stays_in(life):
    lab = life
    started(lab)
    w2 = lab.hosts["esb-w2"].address.encode()
    proc = subprocess.Popen([fab_bin(), "rolling-restart"], cwd=REPO, env=lab.fab_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while w2 not in downs(lab) and time.monotonic() < deadline:  # esb-w1 is back, esb-w2 goes out
        time.sleep(0.05)
    os.kill(pid(lab, "esb-w1"), signal.SIGKILL)
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 1 and "Traceback" not in err, out + err
    assert "[esb-w2] rolling-restart: changed: " in out and "back in lb1" in out, out + logs_of(lab, "esb-w2")
    assert "[esb-w1] rolling-restart (after): failed: not running at the end of the rolling restart" in out, out
    assert w2 not in downs(lab)  # the live worker is in: the balancer serves
    serves(lab)
    assert "  fab -H esb-w1 start" in out
    recovered(lab, out)


def test_a_plain_stop_drains_first_and_the_last_serving_worker_is_refused(life):
    lab = life
    started(lab)
    with Clients(lab.hosts["lb1"].address, lab.http_port, HOST) as clients:
        r = lab.fab("-H", "esb-w1", "stop")
        assert r.returncode == 0 and "[esb-w1] stop: changed: stopped" in r.stdout, r.stdout + r.stderr
        r = lab.fab("-H", "esb-w2", "stop")
        assert r.returncode == 1 and "[esb-w2] stop: failed: refused: esb-w2 is the last serving worker" in r.stdout, \
            r.stdout
        r2 = lab.fab("-H", "esb-w2", "restart")
        assert r2.returncode == 1 and "refused: esb-w2 is the last serving worker" in r2.stdout, r2.stdout
        time.sleep(0.5)
    assert clients.ok > 5 and clients.failed == 0, clients.errors[:3]
    assert pid(lab, "esb-w2") and not pid(lab, "esb-w1")
    assert lab.hosts["esb-w1"].address.encode() in downs(lab)
    r = lab.fab("-H", "esb-w1", "start", "--force")  # a start puts its worker back
    assert r.returncode == 0 and "back in lb1" in r.stdout and downs(lab) == b"", r.stdout


def test_a_drained_worker_is_a_warning_in_verify_and_stays_out_until_drain_undo(life):
    lab = life
    started(lab)
    r = lab.fab("-H", "esb-w1", "drain", "--json")
    doc = json.loads(r.stdout)  # the drain as data (issue 31)
    assert r.returncode == 0 and doc["mode"] == "drain", r.stdout
    f = doc["hosts"]["esb-w1"]["drain"]["fields"]
    assert (f["action"], f["balancer"], f["lbs"]) == ("drain", "drained", ["lb1"]), f
    r = lab.fab("verify", "--steps", "configure-lb", "--json")
    row = json.loads(r.stdout)["hosts"]["lb1"]["configure-lb"]
    assert r.returncode == 0 and row["status"] == "ok", row  # not "differs"
    assert [(w["what"], w["fix"]) for w in row["warnings"]] == [("esb-w1", "fab -H esb-w1 drain --undo")], row
    assert "drained (fab drain)" in row["warnings"][0]["actual"]
    r = lab.fab("-H", "esb-w1", "restart")
    assert r.returncode == 0 and "stays out of the balancer: drained" in r.stdout, r.stdout
    before = pid(lab, "esb-w2")
    r = lab.fab("rolling-restart")  # esb-w2 is the only worker serving: it is not taken out
    assert r.returncode == 1 and "[esb-w2] rolling-restart: failed: not restarted: no other worker serves (esb-w1 " \
        "runs but is marked down)" in r.stdout, r.stdout + r.stderr
    r = lab.fab("rolling-restart", "--json")  # the same refusal as data: a code, the node's problems, nothing done
    rows = json.loads(r.stdout)["hosts"]
    f = rows["esb-w2"]["rolling-restart"]["fields"]
    assert r.returncode == 1 and f["error"] == "precheck" and f["action"] == "none", f
    assert any("no other worker serves" in p for p in f["problems"]), f
    assert {rows[n]["rolling-restart"]["fields"].get("skipped") for n in ("esb-mgr", "esb-w1")} == {"precheck-failed"}
    assert pid(lab, "esb-w2") == before and lab.hosts["esb-w1"].address.encode() in downs(lab)
    assert lab.fab("-H", "esb-w1", "drain", "--undo").returncode == 0 and downs(lab) == b""


def test_an_unstartable_node_stops_nothing_and_the_printed_recovery_restores_the_cluster(life):
    lab = life
    before = started(lab)
    jdk17 = make_jdk(lab.dir / "jdk17", version="17.0.15")
    good = toml(lab)
    lab.write_toml(good.replace("[hosts.esb-w2]\n", f'[hosts.esb-w2]\njava_home = "{jdk17}"\n'))
    with Clients(lab.hosts["lb1"].address, lab.http_port, HOST) as clients:
        dry = lab.fab("rolling-restart", "--dry-run")
        r = lab.fab("rolling-restart")
    for out in (dry, r):
        assert out.returncode == 1, out.stdout + out.stderr
        assert "[esb-w2] rolling-restart: failed: not restarted: " in out.stdout and "is Java 17.0.15" in out.stdout
        assert "[esb-w1] rolling-restart: skipped: not restarted: the checks before the roll failed on esb-w2" \
            in out.stdout, out.stdout
    assert "would change" not in dry.stdout, dry.stdout
    assert {n: pid(lab, n) for n in ESB} == before and downs(lab) == b""  # nothing stopped
    assert clients.failed == 0, clients.errors[:3]
    assert "esb-w2: " in r.stdout[r.stdout.index("to recover"):] and "Java 17" in r.stdout.split("to recover")[1]
    lab.write_toml(good)  # the fix the output asks for
    recovered(lab, r.stdout)
    assert all(pid(lab, n) != before[n] for n in ESB)


def test_a_rolling_restart_killed_half_way_is_finished_by_a_rerun(life):
    lab = life
    started(lab)
    w1 = lab.hosts["esb-w1"]
    proc = subprocess.Popen([fab_bin(), "rolling-restart"], cwd=REPO, env=lab.fab_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while (w1.address.encode() not in downs(lab) or pid(lab, "esb-w1")) and time.monotonic() < deadline:
        time.sleep(0.05)  # esb-w1 out of the balancer and stopped
    proc.kill()
    proc.wait(10)
    time.sleep(0.5)
    assert w1.address.encode() in downs(lab)
    with Clients(lab.hosts["lb1"].address, lab.http_port, HOST) as clients:
        r = lab.fab("rolling-restart", "--needed")
        time.sleep(0.5)
    assert r.returncode == 0, r.stdout + r.stderr + logs_of(lab, "esb-w1")
    (row,) = [ln for ln in r.stdout.splitlines() if ln.startswith("[esb-w1] rolling-restart: changed: ")]
    assert row.endswith("; back in lb1"), r.stdout  # its turn puts it back: it was out before the rerun began
    assert clients.failed == 0, clients.errors[:3]
    assert all(pid(lab, n) for n in ESB) and downs(lab) == b""
