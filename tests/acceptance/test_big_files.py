"""Files far over what their kind may hold (issue 9): refused with a message naming the file, its size and the
limit, never read past the limit (the run's byte counters prove it), nothing changed, the other hosts go on."""
from __future__ import annotations

import json

import pytest

from tests.acceptance.dbconf import use_database
from tests.lab import Lab

BIG = 200 << 20  # a sparse 200 MB file: no disk, and reading it whole would take GBs of memory


def grow(p, size: int = BIG) -> None:
    with open(p, "r+b") as f:
        f.truncate(size)


@pytest.mark.parametrize("step,rel,kind", [
    ("patch-axis2", "repository/conf/axis2/axis2.xml", "a configuration file"),
    ("map-hosts", None, "a hosts file"),
    ("set-hostnames", "repository/conf/carbon.xml", "a configuration file"),
])
def test_a_huge_file_is_refused_unread_and_the_other_hosts_go_on(lab: Lab, step, rel, kind):
    use_database(lab)
    w1 = lab.hosts["esb-w1"]
    target = w1.hosts_file if rel is None else w1.home / rel
    grow(target)
    stats = lab.dir / f"stats-{step}.jsonl"
    before = lab.snapshot()
    r = lab.fab(step, env={"ESB_STATS_FILE": str(stats)})
    assert r.returncode == 1, r.stdout + r.stderr
    assert (f"[esb-w1] {step}: failed: {target}: {BIG} bytes, more than {kind} may hold ({16 << 20 if rel else 4 << 20} "
            f"bytes); refused, not read") in r.stdout, r.stdout
    assert f"[esb-mgr] {step}: changed" in r.stdout and f"[esb-w2] {step}: changed" in r.stdout
    after = lab.snapshot()
    assert {k: v for k, v in after.items() if "/esb-w1/" in k} == {k: v for k, v in before.items() if "/esb-w1/" in k}
    counters = json.loads(stats.read_text().splitlines()[-1])["hosts"]
    assert counters["esb-w1"]["bytes_read"] < 1 << 20  # the huge file was never read
    assert lab.fab(step, "--verify").returncode == 1  # verify says the same, and exits 1 (failed), not 2
