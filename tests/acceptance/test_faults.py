"""Faults under real sshd: kill -9 mid-patch, a host's sshd dying, a read-only or full disk,
a file replaced by a directory, and two fab runs at once against the same hosts.

Every case asserts a clear per-host message, that the other hosts complete, and that
nothing else changed; files are only ever their old or their new bytes.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from lxml import etree

from tests.lab import REPO, Lab, fab_bin, process_children

AXIS2 = "axis2/axis2.xml"
TMP_MARK = ".esb-tmp-"


# ---------------------------------------------------------------- helpers
def start_fab(lab: Lab, *args: str) -> subprocess.Popen:
    """The real fab CLI in the background (so the test can act while it runs)."""
    return subprocess.Popen([fab_bin(), *args], cwd=REPO, env=lab.fab_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def descendants(pid: int) -> list[int]:
    """Every process below pid (the per-connection sshd processes of a listener)."""
    children = process_children()
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def kill_sshd(lab: Lab, name: str) -> None:
    """Stop a host's sshd and cut its open connections (the host is gone mid-run)."""
    h = lab.hosts[name]
    kids = descendants(h.proc.pid)
    lab.stop(h)
    for k in kids:
        try:
            os.kill(k, signal.SIGKILL)
        except ProcessLookupError:
            pass


def host_snapshot(lab: Lab, name: str, state: bool = True) -> dict:
    """lab.snapshot() of one host: its root and (state) its state_dir."""
    roots = (str(lab.hosts[name].root) + "/",) + ((str(lab.state_dir(name)) + "/",) if state else ())
    return {k: v for k, v in lab.snapshot(state=state).items() if k.startswith(roots)}


def tmp_leftovers(lab: Lab) -> list[str]:
    return [str(p) for h in lab.hosts.values() for p in h.root.rglob(f"*{TMP_MARK}*")]


def statuses(stdout: str, step: str = "patch-axis2") -> dict[str, dict]:
    return {h: s[step] for h, s in json.loads(stdout)["hosts"].items()}


def set_run(lab: Lab, **run) -> None:
    lab.extra_toml = "[run]\n" + "".join(f"{k} = {v}\n" for k, v in run.items())
    lab.write_toml()


def hold_lock(lab: Lab, name: str, pid: int, older: bool = True, run_id: str = "20000101T000000-1") -> Path:
    """Plant the lock of a live run (pid on this node) on a host; `older`: it started before fab's run."""
    d = lab.state_dir(name) / "lock"
    d.mkdir(parents=True, exist_ok=True)
    (d / "owner").write_text(json.dumps({"run_id": run_id, "pid": pid, "node": socket.gethostname(),
                                         "time": int(time.time()),
                                         "started": time.time() + (-100 if older else 3600)}))
    return d


def release(lock: Path) -> None:
    (lock / "owner").unlink(missing_ok=True)
    lock.rmdir()


@pytest.fixture
def sleeper():
    """A live process whose pid can own a planted lock; killed after the test."""
    p = subprocess.Popen(["sleep", "300"])
    yield p
    p.kill()
    p.wait()


# ---------------------------------------------------------------- kill -9
@pytest.fixture(scope="module")
def big_lab():
    """Twelve ESB hosts (manager + 11 workers) on .60-71 of the lab network, a narrow pool so a run lasts."""
    lab = Lab.create(n_workers=11, first_octet=60)
    set_run(lab, parallel=3)
    yield lab
    lab.close()


@pytest.fixture(scope="module")
def patched_bytes(big_lab):
    """Each host's axis2.xml as a complete patch leaves it."""
    assert big_lab.fab("patch-axis2").returncode == 0
    out = {n: h.conf(AXIS2).read_bytes() for n, h in big_lab.hosts.items()}
    big_lab.reset()
    set_run(big_lab, parallel=3)
    return out


def _kill_when(lab: Lab, seen) -> tuple[subprocess.Popen, float]:
    """Start a patch, poll the hosts' files, kill -9 fab the moment `seen(paths)` is true."""
    files = [h.conf(AXIS2) for h in lab.hosts.values()]
    before = {f: f.stat().st_ino for f in files}
    proc = start_fab(lab, "patch-axis2")
    t0 = time.monotonic()
    while proc.poll() is None and time.monotonic() - t0 < 60:
        if seen(files, before):
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait()  # reap it: a zombie's pid still looks alive to the next run's stale-lock check
    return proc, time.monotonic() - t0


def _tmp_seen(files, before) -> bool:
    return any(n.startswith(".axis2.xml" + TMP_MARK) for n in os.listdir(files[0].parent)) or \
        any(TMP_MARK in n for f in files[1:] for n in os.listdir(f.parent))


def _rename_seen(files, before) -> bool:
    return any(f.stat().st_ino != before[f] for f in files)


@pytest.mark.parametrize("moment", [_tmp_seen, _rename_seen], ids=["at-first-temp-file", "at-first-rename"])
def test_kill_9_mid_patch_leaves_old_or_new_bytes_and_next_run_completes(big_lab, patched_bytes, moment):
    lab = big_lab
    lab.reset()
    set_run(lab, parallel=3)
    shipped = {n: h.conf(AXIS2).read_bytes() for n, h in lab.hosts.items()}
    proc, _ = _kill_when(lab, moment)
    assert proc.returncode == -signal.SIGKILL, "fab finished before it could be killed"
    state = {}
    for n, h in lab.hosts.items():
        data = h.conf(AXIS2).read_bytes()
        etree.fromstring(data)  # parses: never truncated or half-written
        assert data in (shipped[n], patched_bytes[n]), f"{n}: neither the old nor the new bytes"
        state[n] = "new" if data == patched_bytes[n] else "old"
    assert "old" in state.values(), state  # the kill landed mid-run
    locks = [n for n in lab.hosts if (lab.state_dir(n) / "lock").exists()]
    assert locks, "the killed run left no lock behind (nothing to prove stale)"

    set_run(lab, parallel=3, lock_wait=3)
    t0 = time.monotonic()
    r = lab.fab("patch-axis2", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    assert time.monotonic() - t0 < 10  # the dead run's locks were broken at once, not waited out
    st = statuses(r.stdout)
    for n in lab.hosts:
        assert lab.hosts[n].conf(AXIS2).read_bytes() == patched_bytes[n]
        assert st[n]["status"] == ("ok" if state[n] == "new" else "changed"), (n, st[n])
    assert tmp_leftovers(lab) == []  # the dead run's temp files were cleaned
    assert not [n for n in lab.hosts if (lab.state_dir(n) / "lock").exists()]


# ---------------------------------------------------------------- a host dies mid-run
def test_sshd_killed_mid_run_fails_that_host_only(lab, sleeper):
    """esb-w2's connection is open (its run is waiting for a younger run's lock) when its sshd dies."""
    set_run(lab, lock_wait=60)
    lock = hold_lock(lab, "esb-w2", sleeper.pid, older=False)
    # product files only: a connection cut between the lock attempt's mkdir and its cleanup may leave that
    # attempt's lock.<hex> directory in state_dir (nothing can remove it over a dead connection)
    w2_before = host_snapshot(lab, "esb-w2", state=False)
    others = [lab.hosts[n].conf(AXIS2) for n in ("esb-mgr", "esb-w1")]
    inodes = [f.stat().st_ino for f in others]
    proc = start_fab(lab, "patch-axis2", "--json")
    t0 = time.monotonic()
    while any(f.stat().st_ino == i for f, i in zip(others, inodes, strict=True)) and time.monotonic() - t0 < 20:
        time.sleep(0.02)
    time.sleep(0.3)
    kill_sshd(lab, "esb-w2")
    out, err = proc.communicate(timeout=30)
    try:
        assert proc.returncode == 1, out + err
        st = statuses(out)
        assert st["esb-mgr"]["status"] == st["esb-w1"]["status"] == "changed"
        assert st["esb-w2"]["status"] == "failed"
        w2 = lab.hosts["esb-w2"].address
        assert f"connection to root@{w2}" in st["esb-w2"]["message"] and "lost" in st["esb-w2"]["message"]
        assert host_snapshot(lab, "esb-w2", state=False) == w2_before
    finally:
        release(lock)
        lab.start(lab.hosts["esb-w2"])
    r = lab.fab("patch-axis2", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    assert statuses(r.stdout)["esb-w2"]["status"] == "changed"


def test_sshd_stopped_before_its_turn_names_the_host(lab):
    """One host's sshd is gone when the run reaches it: that host fails, the others are patched."""
    set_run(lab, parallel=1)
    kill_sshd(lab, "esb-w1")
    w1_before = host_snapshot(lab, "esb-w1")
    try:
        r = lab.fab("patch-axis2")
        assert r.returncode == 1
        w1 = lab.hosts["esb-w1"].address
        assert f"[esb-w1] patch-axis2: failed: unreachable: cannot connect to root@{w1}" in r.stdout
        assert r.stdout.count(": changed") == 2 and "failed on: esb-w1" in r.stdout
        assert host_snapshot(lab, "esb-w1") == w1_before
    finally:
        lab.start(lab.hosts["esb-w1"])


# ---------------------------------------------------------------- disk faults
def _mount(args: list[str]) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True)


@pytest.fixture
def ro_conf(lab):
    """esb-w1's product conf dir bind-mounted read-only (undone after)."""
    d = lab.hosts["esb-w1"].home / "repository" / "conf"
    _mount(["--bind", str(d), str(d)])
    try:
        _mount(["-o", "remount,ro,bind", str(d)])
        yield d
    finally:
        subprocess.run(["umount", str(d)], check=True)


def test_read_only_disk_is_a_clear_error_and_others_complete(lab, ro_conf):
    before = lab.snapshot(state=False)  # the host roots: the two hosts patched keep backups in state_dir
    w1_before = host_snapshot(lab, "esb-w1")  # with its state_dir: a write that failed leaves no backup run
    r = lab.fab("patch-axis2")
    assert r.returncode == 1
    assert (f"[esb-w1] patch-axis2: failed: {lab.hosts['esb-w1'].conf(AXIS2)}: cannot write: "
            "read-only file system") in r.stdout, r.stdout
    assert r.stdout.count(": changed") == 2
    after = lab.snapshot(state=False)
    changed = sorted(k for k in after if before.get(k) != after[k])
    assert changed == sorted(str(lab.hosts[n].conf(AXIS2)) for n in ("esb-mgr", "esb-w2"))
    assert tmp_leftovers(lab) == []
    assert host_snapshot(lab, "esb-w1") == w1_before


@pytest.fixture
def full_conf(lab):
    """esb-w2's axis2 dir on a tmpfs that its axis2.xml nearly fills: one 4 KiB page to spare, so the
    original fits and a second copy (the temp file of a write) does not, whichever fixture is in use
    (the shipped 43 KiB file: 48 KiB)."""
    d = lab.hosts["esb-w2"].conf("axis2")
    saved = {p.name: p.read_bytes() for p in d.iterdir()}
    pages = sum(-(-len(data) // 4096) for data in saved.values())
    _mount(["-t", "tmpfs", "-o", f"size={4 * (pages + 1)}k", "tmpfs", str(d)])
    try:
        for name, data in saved.items():
            (d / name).write_bytes(data)
            os.chmod(d / name, 0o644)
        yield d
    finally:
        subprocess.run(["umount", str(d)], check=True)


def test_full_disk_is_a_clear_error_and_file_intact(lab, full_conf):
    f = full_conf / "axis2.xml"
    old = f.read_bytes()
    r = lab.fab("patch-axis2")
    assert r.returncode == 1
    assert f"[esb-w2] patch-axis2: failed: {f}: cannot write: no space left on device" in r.stdout, r.stdout
    assert r.stdout.count(": changed") == 2
    assert f.read_bytes() == old
    assert [p.name for p in full_conf.iterdir()] == ["axis2.xml"]  # the partial temp file is gone


def test_remote_file_replaced_by_directory(lab):
    target = lab.hosts["esb-w1"].conf(AXIS2)
    target.unlink()
    target.mkdir()
    (target / "inner").write_text("keep")
    w1 = host_snapshot(lab, "esb-w1")
    for args in (("patch-axis2", "--verify"), ("patch-axis2", "--dry-run"), ("patch-axis2",)):
        r = lab.fab(*args)
        assert r.returncode == 1
        assert f"[esb-w1] patch-axis2: failed: {target}: is a directory, expected a file" in r.stdout, r.stdout
        assert host_snapshot(lab, "esb-w1") == w1
    assert r.stdout.count(": changed") == 2  # the patch run did the others


# ---------------------------------------------------------------- two runs at once
def test_lock_held_by_live_run_is_waited_for_then_refused(lab, sleeper):
    node = socket.gethostname()
    set_run(lab, lock_wait=1)
    lock = hold_lock(lab, "esb-w1", sleeper.pid)
    before = lab.snapshot()
    try:
        r = lab.fab("-H", "esb-w1", "patch-axis2")
        assert r.returncode == 1
        assert (f"[esb-w1] patch-axis2: failed: esb-w1 is locked by another run (20000101T000000-1, pid "
                f"{sleeper.pid} on {node}); gave up after 1s ([run].lock_wait)") in r.stdout, r.stdout
        assert f"esb-w1: waiting for the lock held by run 20000101T000000-1, pid {sleeper.pid}" in r.stderr
        assert lab.snapshot() == before
        assert lock.exists()  # a live holder's lock is never broken

        set_run(lab, lock_wait=20)
        threading.Timer(1.5, release, (lock,)).start()
        t0 = time.monotonic()
        r = lab.fab("-H", "esb-w1", "patch-axis2")
        assert r.returncode == 0, r.stdout + r.stderr
        assert time.monotonic() - t0 > 1.4
        assert "[esb-w1] patch-axis2: changed" in r.stdout
    finally:
        if lock.exists():
            release(lock)


def test_run_holding_locks_refuses_an_older_runs_lock_at_once(lab, sleeper):
    """Waiting while holding esb-mgr's lock for an older run could deadlock: refused, the others go on."""
    set_run(lab, lock_wait=30, parallel=1)
    lock = hold_lock(lab, "esb-w1", sleeper.pid)
    w1 = host_snapshot(lab, "esb-w1")
    try:
        t0 = time.monotonic()
        r = lab.fab("patch-axis2")
        assert time.monotonic() - t0 < 10
        assert r.returncode == 1
        assert (f"[esb-w1] patch-axis2: failed: esb-w1 is locked by another run (20000101T000000-1, pid "
                f"{sleeper.pid} on {socket.gethostname()}) that started first; refused, since waiting while "
                "this run holds other hosts could deadlock") in r.stdout, r.stdout
        assert "[esb-mgr] patch-axis2: changed" in r.stdout and "[esb-w2] patch-axis2: changed" in r.stdout
        assert host_snapshot(lab, "esb-w1") == w1
    finally:
        release(lock)


FOREIGN = {"run_id": "20000101T000000-7", "pid": 4242, "node": "ops-desktop", "machine_id": "0" * 32,
           "boot_id": "b", "pid_start": 1, "command": "fab setup-cluster"}
FOREIGN_WHO = "20000101T000000-7, pid 4242 on ops-desktop, `fab setup-cluster`"


def plant_lock(lab: Lab, owner: bytes, name: str = "esb-w1") -> Path:
    """A lock on a host whose owner file holds exactly `owner` (an empty lock directory is no lock: the next
    run's whole lock directory is renamed over it)."""
    d = lab.state_dir(name) / "lock"
    d.mkdir(parents=True, exist_ok=True)
    (d / "owner").write_bytes(owner)
    return d


@pytest.mark.parametrize("when", [4_102_444_800, 0], ids=["far-future", "far-past"])
def test_another_machines_lock_is_refused_whatever_its_time_and_break_lock_breaks_it(lab, when):
    """A lock of another control machine: its time (a clock two hours ahead, a planted 2100 or 1970) decides
    nothing; it is waited for, then refused naming the holder and --break-lock, which breaks it and says so."""
    set_run(lab, lock_wait=1)
    lock = plant_lock(lab, json.dumps({**FOREIGN, "time": when, "started": when}).encode())
    owner = (lock / "owner").read_bytes()
    before = lab.snapshot()
    r = lab.fab("-H", "esb-w1", "patch-axis2")
    assert r.returncode == 1, r.stdout + r.stderr
    assert (f"[esb-w1] patch-axis2: failed: esb-w1 is locked by another run ({FOREIGN_WHO}); gave up after 1s "
            "([run].lock_wait); it is a run of another machine (ops-desktop), which this machine cannot see end: "
            "if that run is dead, run again with --break-lock to break its lock") in r.stdout, r.stdout
    assert f"esb-w1: waiting for the lock held by run {FOREIGN_WHO} (up to 1s)" in r.stderr, r.stderr
    assert lab.snapshot() == before and (lock / "owner").read_bytes() == owner  # not broken

    r = lab.fab("-H", "esb-w1", "patch-axis2", "--break-lock")
    assert r.returncode == 0 and "[esb-w1] patch-axis2: changed" in r.stdout, r.stdout + r.stderr
    assert (f"esb-w1: --break-lock: broke {lock}, held by run {FOREIGN_WHO} (it is a run of another machine "
            "(ops-desktop), which this machine cannot see end)") in r.stderr, r.stderr
    assert not lock.exists() and "broke" not in lab.fab("-H", "esb-w1", "patch-axis2", "--break-lock").stderr


@pytest.mark.parametrize("owner,why", [
    (b"{not json", "its owner file is missing, unreadable or not a JSON object"),
    (b'["a", "list"]', "its owner file is missing, unreadable or not a JSON object"),
    (b"", "its owner file is missing, unreadable or not a JSON object"),
    (json.dumps({"run_id": {"x": 1}, "pid": "1; reboot", "node": socket.gethostname(), "time": "soon"}).encode(),
     "its owner file names no process id"),
    (json.dumps({"run_id": "r\u001b[31m", "pid": 1, "node": socket.gethostname(), "time": 9e99}).encode(),
     "process 1 runs on this machine, but its owner file cannot prove it is that run"),
], ids=["not-json", "a-list", "empty-owner-file", "garbage-fields", "pid-1-no-start"])
def test_a_malformed_or_planted_owner_file_never_crashes_nor_blocks_without_the_way_out(lab, owner, why):
    set_run(lab, lock_wait=1)
    lock = plant_lock(lab, owner)
    before = lab.snapshot()
    t0 = time.monotonic()
    r = lab.fab("-H", "esb-w1", "patch-axis2")
    out = r.stdout + r.stderr
    assert r.returncode == 1 and "Traceback" not in out and time.monotonic() - t0 < 15, out
    assert "[esb-w1] patch-axis2: failed: esb-w1 is locked by another run (" in r.stdout, out
    assert f"gave up after 1s ([run].lock_wait); {why}: if that run is dead, run again with --break-lock" in r.stdout
    assert "\x1b" not in out and lab.snapshot() == before and lock.is_dir()
    r = lab.fab("-H", "esb-w1", "patch-axis2", "--break-lock")
    assert r.returncode == 0 and "[esb-w1] patch-axis2: changed" in r.stdout, r.stdout + r.stderr
    assert f"esb-w1: --break-lock: broke {lock}, held by run " in r.stderr and f"({why})" in r.stderr, r.stderr


def test_break_lock_never_breaks_a_live_run_of_this_machine(lab, sleeper):
    from tasks.remote.lockowner import this_machine
    here = this_machine()
    set_run(lab, lock_wait=1)
    lock = plant_lock(lab, json.dumps({"run_id": "20000101T000000-1", "pid": sleeper.pid, "node": here.hostname,
                                       "machine_id": here.machine_id, "boot_id": here.boot_id,
                                       "pid_start": here.pid_start(sleeper.pid), "started": 0}).encode())
    try:
        r = lab.fab("-H", "esb-w1", "patch-axis2", "--break-lock")
        assert r.returncode == 1 and lock.is_dir(), r.stdout + r.stderr
        assert (f"esb-w1 is locked by another run (20000101T000000-1, pid {sleeper.pid} on {here.hostname}); gave "
                f"up after 1s ([run].lock_wait); its process {sleeper.pid} is alive on this machine: --break-lock "
                "never breaks a live run's lock") in r.stdout, r.stdout
        assert "broke" not in r.stderr
    finally:
        release(lock)


def test_a_run_holding_locks_refuses_another_machines_lock_at_once(lab):
    """No clock can order a run of another machine against this one: holding other hosts, it refuses at once
    (waiting could deadlock), whatever the planted start time says; the other hosts go on."""
    set_run(lab, lock_wait=30, parallel=1)
    lock = plant_lock(lab, json.dumps({**FOREIGN, "started": 4_102_444_800}).encode())  # "started after us"
    w1 = host_snapshot(lab, "esb-w1")
    t0 = time.monotonic()
    r = lab.fab("patch-axis2")
    assert time.monotonic() - t0 < 15 and r.returncode == 1, r.stdout + r.stderr
    assert (f"[esb-w1] patch-axis2: failed: esb-w1 is locked by another run ({FOREIGN_WHO}) of another machine or "
            "unknown; refused, since waiting while this run holds other hosts could deadlock and no clock can tell "
            "which run came first; it is a run of another machine (ops-desktop)") in r.stdout, r.stdout
    assert "[esb-mgr] patch-axis2: changed" in r.stdout and "[esb-w2] patch-axis2: changed" in r.stdout
    assert host_snapshot(lab, "esb-w1") == w1 and lock.is_dir()


def test_two_runs_at_once_serialize_per_host(lab):
    set_run(lab, lock_wait=30)
    final = None
    for _ in range(3):
        lab.reset()
        shutil.rmtree(lab.dir / "state", ignore_errors=True)
        set_run(lab, lock_wait=30)
        t0 = time.monotonic()
        procs = [start_fab(lab, "patch-axis2", "--json") for _ in range(2)]
        outs = [p.communicate(timeout=60) for p in procs]
        assert time.monotonic() - t0 < 20  # no deadlock waited out
        runs = [statuses(o) for o, _ in outs]
        for n in ("esb-mgr", "esb-w1", "esb-w2"):
            pair = sorted(r[n]["status"] for r in runs)
            # exactly one run wrote; the other found it done, or refused to wait (deadlock avoidance)
            assert pair in (["changed", "ok"], ["changed", "failed"]), (n, runs)
            for r in runs:
                if r[n]["status"] == "failed":
                    assert "is locked by another run" in r[n]["message"]
            manifests = list((lab.state_dir(n) / "backups").glob("*/manifest.json"))
            assert len(manifests) == 1, manifests  # one backup: one writer
        files = {n: h.conf(AXIS2).read_bytes() for n, h in lab.hosts.items() if h.role != "db"}
        final = final or files
        assert files == final  # the same bytes whatever the interleaving
        assert tmp_leftovers(lab) == []
    r = lab.fab("patch-axis2", "--verify")
    assert r.returncode == 0, r.stdout
