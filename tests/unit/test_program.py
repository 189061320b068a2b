"""The `esb` command (tasks/program.py), run as its console script runs it (`program.run`) in a folder
without the fabfile: the grouped --list with every help whole, and the flag traps refused before
anything runs (a hosts.toml naming a host that does not exist: a run that started would say so)."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tasks.cli import TASK_GROUPS, build_collection

REPO = Path(__file__).resolve().parents[2]


def esb(tmp_path: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`esb ARGS` from tmp_path (no fabfile there), the checkout on PYTHONPATH."""
    code = "import sys; from tasks.program import program; program.run(['esb', *sys.argv[1:]])"
    full = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "100", "ESB_HOSTS": str(tmp_path / "none.toml"),
            **(env or {})}
    return subprocess.run([sys.executable, "-c", code, *args], cwd=tmp_path, env=full, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)


def test_list_groups_steps_commands_and_lifecycle_in_order_with_every_help_whole(tmp_path):
    r = esb(tmp_path, "--list")
    assert r.returncode == 0, r.stderr
    heads = [ln for ln in r.stdout.splitlines() if ln and not ln.startswith(" ")]
    assert heads == [f"{title}:" for title, _ in TASK_GROUPS]
    listed = [ln.split()[0] for ln in r.stdout.splitlines() if ln.startswith("  ") and not ln.startswith("   ")]
    assert listed == [n for _, names in TASK_GROUPS for n in names]  # guide order, then commands, then lifecycle
    assert set(listed) == set(build_collection().tasks)  # every task, none twice
    words = " ".join(r.stdout.split())
    for name, t in build_collection().tasks.items():
        assert " ".join(t.__doc__.split()) in words, name  # the whole help, wrapped, never cut
    assert "then the old database password retired; no request lost" in words  # rotate-passwords' second line


@pytest.mark.parametrize("args, said", [
    (["-R", "-H", "esb-w1", "patch-axis2"], "-R/--dry is Fabric's own option"),
    (["--dry", "patch-axis2"], "esb patch-axis2 --dry-run"),
    (["-d", "patch-axis2"], "-d before the task name is Fabric's --debug, not a dry run: write esb patch-axis2 "
                            "--dry-run"),
    (["-H", "esb-w1", "-d", "setup-cluster"], "write esb setup-cluster --dry-run"),
    (["--dry-run", "patch-axis2"], "--dry-run is a task's flag: write it after the task name (esb patch-axis2 "
                                   "--dry-run)"),
    (["-H", "esb-w1", "--verify", "patch-axis2"], "(esb patch-axis2 --verify)"),
    (["--json", "status"], "(esb status --json)"),
    (["--break-lock", "patch-axis2"], "(esb patch-axis2 --break-lock)"),  # one the hand-written list lacked
    (["-e", "patch-axis2"], "-e/--echo is Fabric's own option"),
    (["-w", "patch-axis2"], "-w/--warn-only"),
    (["-p", "patch-axis2"], "-p/--pty"),
    (["--hide", "both", "patch-axis2"], "--hide"),
    (["-T", "5", "patch-axis2"], "[run].op_timeout"),
    (["-i", "/k", "patch-axis2"], "key_filename"),
    (["-S", "/nonexistent", "patch-axis2"], "-S/--ssh-config"),
    (["-t", "3", "patch-axis2"], "connect_timeout"),
    (["--prompt-for-sudo-password", "patch-axis2"], "SUDO_PASSWORD"),
    (["--prompt-for-login-password", "patch-axis2"], "--prompt-for-login-password"),
    (["--prompt-for-passphrase", "patch-axis2"], "--prompt-for-passphrase"),
])
def test_a_flag_trap_is_refused_with_the_right_spelling_before_anything_runs(tmp_path, args, said):
    r = esb(tmp_path, *args)
    assert r.returncode == 1, r.stdout + r.stderr
    assert said in r.stderr and "nothing was run" in r.stderr, r.stderr
    assert "none.toml" not in r.stderr + r.stdout  # refused before hosts.toml was even read
    assert "Traceback" not in r.stderr and "invoke.program" not in r.stderr  # no debug output, no crash


def test_debug_long_form_and_a_task_flag_after_the_task_are_not_refused(tmp_path):
    """--debug is Fabric's debug (asked for by name); -d after the task is its dry run: both reach the task."""
    for args in (["--debug", "patch-axis2", "--dry-run"], ["patch-axis2", "-d"], ["-H", "esb-w1", "patch-axis2", "-d"]):
        r = esb(tmp_path, *args)
        assert r.returncode == 1 and "none.toml: file not found" in r.stderr, (args, r.stderr)


def test_runs_from_any_folder_with_esb_hosts_or_the_folders_hosts_toml(tmp_path):
    (tmp_path / "hosts.toml").write_text(textwrap.dedent("""\
        [cluster]
        domain = "wso2.esb.domain"
        hostname = "esb.wso2.com"
        mgt_hostname = "mgt.esb.wso2.com"

        [hosts.bad name]
        address = "127.0.0.1"
        role = "manager"
        """))
    r = esb(tmp_path, "verify", env={"ESB_HOSTS": ""})
    assert r.returncode == 1 and "hosts.toml" in r.stderr and "collection named 'fabfile'" not in r.stderr, r.stderr
    r = esb(tmp_path, "verify", env={"ESB_HOSTS": str(tmp_path / "elsewhere.toml")})
    assert r.returncode == 1 and "elsewhere.toml: file not found" in r.stderr, r.stderr


def test_a_steps_short_flags_are_first_letters_only_and_the_version_is_this_tools(tmp_path):
    r = esb(tmp_path, "--help", "patch-axis2")
    assert "  --verbose " in r.stdout and "  --diff " in r.stdout and "-e, --verbose" not in r.stdout, r.stdout
    assert "-d, --dry-run" in r.stdout and "-v, --verify" in r.stdout and "-j, --json" in r.stdout
    assert esb(tmp_path, "--version").stdout.startswith("esb ") and "(Fabric 3." in esb(tmp_path, "--version").stdout


def test_help_ends_with_where_the_files_come_from_and_what_fab_outside_the_checkout_means(tmp_path):
    """Fabric's own fab outside the checkout stops before this tool's code runs; esb's help says what to do."""
    r = esb(tmp_path, "--help")
    assert r.returncode == 0, r.stderr
    tail = " ".join(r.stdout.split("Files:")[-1].split())
    assert "./hosts.toml, or the file ESB_HOSTS names" in tail and ".env beside it" in tail, tail
    assert "Can't find any collection named 'fabfile'!" in tail and "fab -r /path/to/checkout" in tail, tail
    assert "esb runs these tasks from any folder" in tail and "pip install" in tail, tail


def test_without_hosts_toml_or_esb_hosts_it_names_the_folder_and_the_fix(tmp_path):
    r = esb(tmp_path, "status", env={"ESB_HOSTS": ""})
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert f"no hosts.toml in {tmp_path}; run the command in the folder that holds the cluster's hosts.toml" \
        in r.stderr and "set ESB_HOSTS=/path/to/hosts.toml" in r.stderr, r.stderr
