"""The operator's view on the real lab (issue 31): every command ends with a per-host recap in
hosts.toml order and a summary of hosts and steps; output sized to the change (a count per file past
five items, --verbose lists them, --diff shows what a patch applied); a first setup-cluster fits on
one screen; an unreachable host is counted as such; one labelled summary per mode."""
from __future__ import annotations

from tests.acceptance.cluster import ESB, cluster, node_config, svnserve  # noqa: F401
from tests.lab import Lab

AXIS2 = "repository/conf/axis2/axis2.xml"
SCREEN = 50  # lines: one terminal screen


def recap(stdout: str) -> list[str]:
    """The recap lines (host first), after the `recap:` heading."""
    lines = stdout.splitlines()
    out = []
    for ln in lines[lines.index("recap:") + 1:]:
        if not ln.startswith("  "):
            break
        out.append(ln.strip())
    return out


def test_a_first_setup_cluster_fits_on_one_screen_with_the_recap_and_a_dry_run_prints_no_binary(cluster):
    lab = cluster
    dry = lab.fab("setup-cluster", "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "\0" not in dry.stdout and "@@" in dry.stdout  # the diffs of the text files, as the contract says
    r = lab.fab("setup-cluster")
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) <= SCREEN, f"{len(lines)} lines:\n{r.stdout}"
    assert [ln.split()[0] for ln in recap(r.stdout)] == ["esb-mgr", "esb-w1", "esb-w2", "db1"]  # hosts.toml order
    assert recap(r.stdout)[1] == "esb-w1   ok=0 changed=9 failed=0 unreachable=0 skipped=0"
    assert lines[-1] == "4 hosts, 31 steps: 30 changed, 1 ok"
    assert "wanted '" not in r.stdout  # a changed row is its one line; the items: --verbose
    again = lab.fab("setup-cluster")
    assert again.stdout.splitlines()[-1] == "4 hosts, 31 steps: 31 ok", again.stdout
    assert recap(again.stdout)[0] == "esb-mgr  ok=12 changed=0 failed=0 unreachable=0 skipped=0"


def test_past_five_items_a_count_per_file_verbose_lists_them_and_diff_shows_what_was_applied(lab: Lab, tmp_path):
    node_config(lab, tmp_path)
    r = lab.fab("patch-axis2", "--verify")
    assert r.returncode == 2
    w1 = r.stdout.split("[esb-w1] patch-axis2: drift (8 items)\n")[1].splitlines()
    assert w1[:2] == [f"    {AXIS2}: 8 items", "    (--verbose lists every item)"], r.stdout
    mgr = r.stdout.split("[esb-mgr] patch-axis2: drift (5 items)\n")[1].splitlines()
    assert all(ln.startswith(f"    {AXIS2}: clustering") for ln in mgr[:5]), r.stdout  # five: each one
    v = lab.fab("patch-axis2", "--verify", "--verbose")
    assert v.stdout.count(f"    {AXIS2}: ") == 5 + 8 + 8 and "--verbose lists" not in v.stdout, v.stdout
    before = lab.snapshot()
    p = lab.fab("patch-axis2", "--diff")
    assert p.returncode == 0, p.stdout + p.stderr
    assert lab.snapshot() != before
    assert p.stdout.count(f"--- a{lab.hosts['esb-w1'].home}/{AXIS2}") == 1, p.stdout
    assert '+        <parameter name="domain">wso2.esb.domain</parameter>' in p.stdout
    plain = lab.fab("rollback")
    assert plain.returncode == 0
    quiet = lab.fab("patch-axis2")
    assert "@@" not in quiet.stdout and f"{AXIS2}: 8 items" in quiet.stdout, quiet.stdout  # no diff unless asked


def test_an_unreachable_host_is_counted_unreachable_and_named(lab: Lab, tmp_path):
    node_config(lab, tmp_path)
    w2 = lab.hosts["esb-w2"]
    lab.stop(w2)
    try:
        r = lab.fab("map-hosts", "patch-axis2")
    finally:
        lab.start(w2)
    assert r.returncode == 1
    assert recap(r.stdout) == ["esb-mgr  ok=0 changed=2 failed=0 unreachable=0 skipped=0",
                               "esb-w1   ok=0 changed=2 failed=0 unreachable=0 skipped=0",
                               "esb-w2   ok=0 changed=0 failed=0 unreachable=1 skipped=1"], r.stdout
    assert "3 hosts, 6 steps: 4 changed, 1 failed, 1 skipped" in r.stdout and "failed on: esb-w2" in r.stdout


def test_two_modes_on_one_line_give_one_labelled_summary_and_recap_each(lab: Lab, tmp_path):
    node_config(lab, tmp_path)
    r = lab.fab("-H", "esb-w1", "set-hostnames", "enable-depsync", "--verify")
    assert r.returncode == 2, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert "patch: 1 host, 1 step: 1 changed" in lines and "verify: 1 host, 1 step: 1 drift" in lines, r.stdout
    assert lines.count("patch: recap:") == 1 and lines.count("verify: recap:") == 1, r.stdout


def test_status_lists_the_nodes_in_hosts_toml_order_every_run(lab: Lab, tmp_path):
    node_config(lab, tmp_path)
    for _ in range(3):
        r = lab.fab("status")
        rows = [ln.split("]")[0][1:] for ln in r.stdout.splitlines() if ln.startswith("[")]
        assert rows == list(ESB), r.stdout
