"""SSH host keys against real sshd: `host_key_policy = "strict"` refuses a host missing from known_hosts,
`"accept-new"` remembers it, and a changed key is refused under either policy; a refused host is never
written to."""
from __future__ import annotations

import subprocess

import pytest

from tests.lab import Lab

AXIS2 = "axis2/axis2.xml"


@pytest.fixture
def keys_lab(lab: Lab):
    """The lab; its known_hosts is put back after the test (the per-test reset leaves it alone)."""
    try:
        yield lab
    finally:
        lab.write_known_hosts()
        lab.write_toml()


def known_line(lab: Lab, name: str) -> str:
    h = lab.hosts[name]
    return next(ln for ln in lab.known_hosts.read_text().splitlines() if ln.startswith(f"[{h.address}]:{h.port} "))


def use_policy(lab: Lab, policy: str) -> None:
    text = lab.toml()
    assert 'host_key_policy = "strict"' in text
    lab.write_toml(text.replace('host_key_policy = "strict"', f'host_key_policy = "{policy}"'))


def test_strict_refuses_a_host_missing_from_known_hosts(keys_lab):
    lab = keys_lab
    w1 = lab.hosts["esb-w1"]
    lab.known_hosts.write_text("".join(ln + "\n" for ln in lab.known_hosts.read_text().splitlines()
                                       if ln != known_line(lab, "esb-w1")))
    before = lab.snapshot()
    r = lab.fab("patch-axis2")
    assert r.returncode == 1
    assert (f"[esb-w1] patch-axis2: failed: host key of [{w1.address}]:{w1.port} is not in {lab.known_hosts}; "
            'add it (ssh-keyscan) or set host_key_policy = "accept-new"') in r.stdout, r.stdout
    assert r.stdout.count("patch-axis2: changed") == 2  # the other hosts were done
    assert {k: v for k, v in lab.snapshot().items() if "/esb-w1/" in k} == \
        {k: v for k, v in before.items() if "/esb-w1/" in k}


def test_accept_new_remembers_unknown_keys_then_strict_accepts_them(keys_lab):
    lab = keys_lab
    lab.known_hosts.write_text("")
    use_policy(lab, "accept-new")
    r = lab.fab("-H", "workers", "patch-axis2")
    assert r.returncode == 0 and r.stdout.count("patch-axis2: changed") == 2, r.stdout + r.stderr
    remembered = lab.known_hosts.read_text().splitlines()
    assert len(remembered) == 2 and all(" ssh-ed25519 " in ln for ln in remembered)
    host_key = (lab.dir / "host_key.pub").read_text().split()[1]
    for name in ("esb-w1", "esb-w2"):
        h = lab.hosts[name]
        assert f"[{h.address}]:{h.port} ssh-ed25519 {host_key}" in remembered
    use_policy(lab, "strict")
    r = lab.fab("-H", "workers", "patch-axis2", "--verify")
    assert r.returncode == 0, r.stdout + r.stderr
    assert lab.known_hosts.read_text().splitlines() == remembered  # nothing added twice


@pytest.mark.parametrize("policy", ["strict", "accept-new"])
def test_a_changed_host_key_is_refused_under_either_policy(keys_lab, tmp_path, policy):
    lab = keys_lab
    w1 = lab.hosts["esb-w1"]
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "other")], check=True)
    other = (tmp_path / "other.pub").read_text().split()
    lab.known_hosts.write_text(lab.known_hosts.read_text().replace(
        known_line(lab, "esb-w1"), f"[{w1.address}]:{w1.port} {other[0]} {other[1]}"))
    use_policy(lab, policy)
    known = lab.known_hosts.read_bytes()
    before = lab.snapshot()
    r = lab.fab("-H", "esb-w1", "patch-axis2")
    assert r.returncode == 1
    assert (f"[esb-w1] patch-axis2: failed: host key of [{w1.address}]:{w1.port} does not match "
            f"{lab.known_hosts} (refused)") in r.stdout, r.stdout
    assert lab.known_hosts.read_bytes() == known  # the changed key was not written over the old one
    assert lab.snapshot() == before
