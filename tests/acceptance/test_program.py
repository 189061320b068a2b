"""The command line's traps on the real lab (issue 31, tasks/program.py): Fabric's own -R/--dry, -d before
the task name and a task's flag before it are refused by `fab` in the checkout, and nothing changes on any
host; the `esb` program runs the real tasks from a folder without the fabfile, with ESB_HOSTS or the
folder's own hosts.toml and .env; `fab --list` in the checkout is the grouped list."""
from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from tests.acceptance.cluster import node_config
from tests.lab import REPO, Lab


@pytest.mark.parametrize("args, said", [
    (["-R", "-H", "esb-w1", "patch-axis2"], "-R/--dry is Fabric's own option"),
    (["-H", "esb-w1", "--dry", "patch-axis2"], "fab patch-axis2 --dry-run"),
    (["-d", "patch-axis2"], "write fab patch-axis2 --dry-run"),
    (["--dry-run", "-H", "esb-w1", "patch-axis2"], "--dry-run is a task's flag"),
    (["-w", "setup-cluster"], "-w/--warn-only"),
])
def test_fab_in_the_checkout_refuses_a_flag_trap_and_changes_nothing(lab: Lab, tmp_path, args, said):
    node_config(lab, tmp_path)
    before = lab.snapshot()
    r = lab.fab(*args)
    assert r.returncode == 1 and said in r.stderr and "nothing was run" in r.stderr, r.stdout + r.stderr
    assert "changed" not in r.stdout and lab.snapshot() == before
    assert len(r.stderr.splitlines()) < 10, r.stderr  # -d: refused as the fabfile loads, not after pages of debug


def esb(lab: Lab, cwd, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    code = "import sys; from tasks.program import program; program.run(['esb', *sys.argv[1:]])"
    full = {**lab.fab_env(env), "PYTHONPATH": str(REPO)}
    full = {k: v for k, v in full.items() if v is not None}
    return subprocess.run([sys.executable, "-c", code, *args], cwd=cwd, env=full, capture_output=True, text=True,
                          timeout=120)


def test_esb_runs_the_tasks_from_any_folder_with_esb_hosts_or_its_own_hosts_toml(lab: Lab, tmp_path):
    node_config(lab, tmp_path)
    away = tmp_path / "elsewhere"
    away.mkdir()
    r = esb(lab, away, "-H", "esb-w1", "patch-axis2")  # ESB_HOSTS names the lab's hosts.toml
    assert r.returncode == 0 and "[esb-w1] patch-axis2: changed (8 items)" in r.stdout, r.stdout + r.stderr
    assert "esb-w1  ok=0 changed=1 failed=0 unreachable=0 skipped=0" in r.stdout
    shutil.copy(lab.hosts_toml, away / "hosts.toml")  # no ESB_HOSTS: ./hosts.toml and ./.env
    shutil.copy(lab.dir / ".env", away / ".env")
    env = lab.fab_env()  # the caller's environment, scrubbed of secrets (.env's win only where it has none)
    env.pop("ESB_HOSTS", None)
    code = "import sys; from tasks.program import program; program.run(['esb', *sys.argv[1:]])"
    r = subprocess.run([sys.executable, "-c", code, "-H", "esb-w1", "patch-axis2", "--verify"], cwd=away,
                       env={**env, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "[esb-w1] patch-axis2: ok" in r.stdout, r.stdout + r.stderr


def test_fab_outside_the_checkout_is_fabrics_own_message_and_fab_r_reaches_the_checkout(lab: Lab, tmp_path):
    """`fab` is Fabric's binary: from a folder without the fabfile it stops before any of this tool's code runs
    (its message is Fabric's, exit 1); `fab -r CHECKOUT`, which esb --help and docs/command-line.md name, runs
    the real tasks from there with ESB_HOSTS."""
    from tests.lab import fab_bin
    node_config(lab, tmp_path)
    away = tmp_path / "elsewhere"
    away.mkdir()
    r = subprocess.run([fab_bin(), "-H", "esb-w1", "patch-axis2", "--verify"], cwd=away, env=lab.fab_env(),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "Can't find any collection named 'fabfile'!" in r.stdout + r.stderr, r
    r = subprocess.run([fab_bin(), "-r", str(REPO), "-H", "esb-w1", "patch-axis2", "--verify"], cwd=away,
                       env=lab.fab_env(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "[esb-w1] patch-axis2: drift" in r.stdout, r.stdout + r.stderr


def test_fab_list_in_the_checkout_is_grouped_and_whole(lab: Lab):
    r = lab.fab("--list")
    assert r.returncode == 0, r.stderr
    heads = [ln for ln in r.stdout.splitlines() if ln and not ln.startswith(" ")]
    assert [h.split(" (")[0].rstrip(":") for h in heads] == ["Guide steps", "Cluster commands", "Server lifecycle"]
    assert "then the old database password retired; no request lost" in " ".join(r.stdout.split())
