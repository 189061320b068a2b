"""One command line, one run (issue 20, CONTRACT §11): the tasks of `fab -H manager,workers patch-axis2
enable-depsync set-hostnames` share one connection, lock and run id per host and leave one rollback step; runs are
ordered by the sequence each node keeps, not by the clock of the machine that ran fab (a second operator machine
a day behind is simulated with libfaketime, the real `faketime`); the first backup of every file outlives
keep_backups and `rollback --all` brings the shipped bytes back."""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from tests.acceptance.cluster import ESB, node_config
from tests.acceptance.util import edit
from tests.lab import Lab, fab_bin, REPO

STEPS = ("patch-axis2", "enable-depsync", "set-hostnames")
FILES = ("axis2/axis2.xml", "carbon.xml")


@pytest.fixture(autouse=True)
def no_earlier_backups(lab_session):
    shutil.rmtree(lab_session.dir / "state", ignore_errors=True)


def conf_bytes(lab: Lab) -> dict[str, bytes]:
    return {f"{n}:{f}": lab.hosts[n].conf(f).read_bytes() for n in ESB for f in FILES}


def run_dirs(lab: Lab, host: str) -> list[str]:
    d = lab.state_dir(host) / "backups"
    return sorted(os.listdir(d)) if d.exists() else []


def test_a_command_line_of_three_tasks_is_one_run_and_one_rollback_step(lab, tmp_path):
    node_config(lab, tmp_path)
    shipped = conf_bytes(lab)
    stats = tmp_path / "stats.jsonl"
    r = lab.fab("-H", "manager,workers", *STEPS, env={"ESB_STATS_FILE": str(stats)})
    assert r.returncode == 0, r.stdout + r.stderr
    order = [line.split("] ")[1].split(":")[0] for line in r.stdout.splitlines()
             if line.startswith("[esb-w1] ")]
    assert order == list(STEPS), r.stdout  # the tasks run and report in the order given
    assert r.stdout.count(" steps: ") == 1, r.stdout  # one summary for the command line
    assert "\n3 hosts, 9 steps: 9 changed\n" in r.stdout and r.stdout.count("=3 ") == 3, r.stdout  # and one recap
    runs = [json.loads(line) for line in stats.read_text().splitlines()]
    assert len(runs) == 1 and all(h["connections"] == 1 for h in runs[0]["hosts"].values()), runs
    for n in ESB:  # one run id, one backup folder per host, numbered by the node
        dirs = run_dirs(lab, n)
        assert len(dirs) == 1 and dirs[0].startswith("000001-") and dirs[0].endswith(runs[0]["run_id"]), dirs
        manifest = json.loads((lab.state_dir(n) / "backups" / dirs[0] / "manifest.json").read_text())
        assert manifest["command"] == "fab -H manager,workers " + " ".join(STEPS), manifest
        assert manifest["machine"] and manifest["seq"] == 1
    assert conf_bytes(lab) != shipped
    r = lab.fab("rollback")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"fab -H manager,workers {' '.join(STEPS)}" in r.stdout, r.stdout  # rollback names the run
    assert conf_bytes(lab) == shipped  # all three tasks undone, byte for byte, in one step
    r = lab.fab("rollback")
    assert r.returncode == 0 and "nothing to roll back" in r.stdout, r.stdout


def test_a_failed_task_stops_that_hosts_later_tasks_only(lab, tmp_path):
    node_config(lab, tmp_path)
    lab.hosts["esb-w1"].conf("axis2/axis2.xml").write_bytes(b"<axisconfig><broken")
    r = lab.fab("-H", "workers", *STEPS)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "[esb-w1] patch-axis2: failed" in r.stdout
    assert "[esb-w1] enable-depsync: skipped: not run: patch-axis2 failed on this host" in r.stdout, r.stdout
    assert "[esb-w1] set-hostnames: skipped" in r.stdout
    assert "[esb-w2] set-hostnames: changed" in r.stdout, r.stdout


def faketime() -> str | None:
    return shutil.which("faketime")


@pytest.mark.skipif(not faketime(), reason="needs faketime (libfaketime)")
def test_a_run_from_a_machine_whose_clock_is_a_day_behind_is_undone_first(lab, tmp_path):
    """Operator A runs, then operator B, whose clock is a day behind: B's run id sorts before A's by name, but the
    node numbered it later, so rollback undoes B's run first, and pruning never drops it."""
    node_config(lab, tmp_path, extra="\n[run]\nkeep_backups = 1\n")
    shipped = conf_bytes(lab)
    assert lab.fab("-H", "esb-w1", "set-hostnames").returncode == 0
    after_a = conf_bytes(lab)
    edit(lab.hosts["esb-w1"].conf("carbon.xml"), "<HostName>esb.wso2.com</HostName>",
         "<HostName>hand.example.com</HostName>")
    r = subprocess.run(["faketime", "-f", "-1d", fab_bin(), "-H", "esb-w1", "set-hostnames"], cwd=REPO,
                       env=lab.fab_env(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "set-hostnames: changed" in r.stdout, r.stdout + r.stderr
    dirs = run_dirs(lab, "esb-w1")
    assert [d[:7] for d in dirs] == ["000002-"], dirs  # keep_backups = 1: the older run by the node's count went
    r = lab.fab("-H", "esb-w1", "rollback")
    assert r.returncode == 0, r.stdout + r.stderr
    assert lab.hosts["esb-w1"].conf("carbon.xml").read_bytes() != after_a["esb-w1:carbon.xml"]
    assert b"hand.example.com" in lab.hosts["esb-w1"].conf("carbon.xml").read_bytes()  # B undone: A's state + hand
    assert conf_bytes(lab)["esb-w2:carbon.xml"] == shipped["esb-w2:carbon.xml"]


def test_the_first_backup_outlives_keep_backups_and_rollback_all_brings_the_shipped_bytes_back(lab, tmp_path):
    """Six runs with the default keep_backups (5), each changing the files: the shipped bytes are still
    reachable; `rollback --all` puts every file back as shipped (files the project created are removed), on the
    targets only."""
    node_config(lab, tmp_path)
    shipped = lab.snapshot(state=False)
    for i in range(6):
        if i:
            for n in ESB:
                edit(lab.hosts[n].conf("carbon.xml"), "<HostName>esb.wso2.com</HostName>",
                     f"<HostName>hand{i}.example.com</HostName>")
        args = ("-H", "manager,workers", *STEPS) if i == 3 else ("set-hostnames",)
        r = lab.fab(*args)
        assert r.returncode == 0 and "changed" in r.stdout, r.stdout + r.stderr
    assert len(run_dirs(lab, "esb-w1")) == 5  # pruned to keep_backups ...
    assert (lab.state_dir("esb-w1") / "originals" / "index.json").exists()  # ... the first backups kept aside
    r = lab.fab("-H", "workers", "rollback", "--all", "--dry-run")
    assert r.returncode == 0 and "before the project first touched it" in r.stdout, r.stdout
    r = lab.fab("-H", "workers", "rollback", "--all")
    assert r.returncode == 0, r.stdout + r.stderr
    now = lab.snapshot(state=False)
    for path, (data, _) in shipped.items():
        if "/esb-w1/" in path or "/esb-w2/" in path:
            assert now[path][0] == data, path
    assert lab.hosts["esb-mgr"].conf("carbon.xml").read_bytes() != shipped_bytes(shipped, lab, "esb-mgr")
    r = lab.fab("-H", "workers", "rollback")
    assert r.returncode == 0 and "nothing to roll back" in r.stdout, r.stdout


def shipped_bytes(snap, lab, host: str) -> bytes:
    return snap[str(lab.hosts[host].conf("carbon.xml"))][0]
