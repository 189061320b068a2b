"""rollback treats what a node holds as untrusted (issue 24): folders and files replaced by symbolic links, a
backup that is a link, a manifest that claims a link's target: rollback resolves what each path really reaches on
the node and refuses, with nothing changed anywhere, inside or outside the managed roots. Links the operator
made are honoured only as this control machine recorded and signed them."""
from __future__ import annotations

import json
import os
import shutil

import pytest

from tests.acceptance.cluster import node_config
from tests.lab import Lab


@pytest.fixture(autouse=True)
def no_earlier_backups(lab_session):
    shutil.rmtree(lab_session.dir / "state", ignore_errors=True)


RUN = "20990101T000000.000000-1"


def plant(lab: Lab, host: str, files: list, backups: dict | None = None) -> None:
    d = lab.state_dir(host) / "backups" / RUN
    (d / "files").mkdir(parents=True)
    for name, data in (backups or {}).items():
        (d / "files" / name).write_bytes(data)
    (d / "manifest.json").write_text(json.dumps({"run_id": RUN, "host": host, "files": files}))


def outside(tmp_path):
    """A folder outside every managed root, with a file only root may read."""
    d = tmp_path / "elsewhere"
    d.mkdir()
    victim = d / "victim.conf"
    victim.write_bytes(b"TOPSECRET-root-only\n")
    os.chmod(victim, 0o600)
    return d, victim


@pytest.mark.parametrize("case", ["remove", "restore", "private-restore"])
def test_a_folder_link_in_the_product_home_cannot_lead_rollback_outside(lab, tmp_path, case):
    node_config(lab, tmp_path)
    d, victim = outside(tmp_path)
    home = lab.hosts["esb-w1"].home
    os.symlink(d, home / "repository" / "conf" / "evil")  # a folder of the node's, now a link
    path = str(home / "repository" / "conf" / "evil" / "victim.conf")
    entry = {"remove": {"path": path, "backup": None, "existed": False, "mode": None},
             "restore": {"path": path, "backup": "0000-victim.conf", "existed": True, "mode": 0o666},
             "private-restore": {"path": path, "backup": "0000-victim.conf", "existed": True, "mode": 0o644,
                                 "private": True, "owner": [0, 0]}}[case]
    plant(lab, "esb-w1", [entry], {"0000-victim.conf": b"planted\n"})
    before, victim_before = lab.snapshot(), victim.read_bytes()
    for args in (("rollback", "--dry-run"), ("rollback",)):
        r = lab.fab(*args)
        assert r.returncode == 1, r.stdout + r.stderr
        assert f"[esb-w1] rollback: failed: run {RUN} on esb-w1: {path} " in r.stdout, r.stdout
        assert "symbolic link" in r.stdout and "refused, nothing restored" in r.stdout
        assert "Traceback" not in r.stdout + r.stderr
    assert victim.read_bytes() == victim_before and os.stat(victim).st_mode & 0o7777 == 0o600
    assert lab.snapshot() == before


def test_a_final_link_planted_at_a_managed_path_is_refused(lab, tmp_path):
    """carbon.xml replaced by a link to a root-only file after a real run: rollback neither shows the file in its
    diff nor writes it; an unsigned manifest claiming that link is refused too."""
    node_config(lab, tmp_path)
    assert lab.fab("-H", "esb-w1", "set-hostnames").returncode == 0
    d, victim = outside(tmp_path)
    carbon = lab.hosts["esb-w1"].conf("carbon.xml")
    carbon.unlink()
    os.symlink(victim, carbon)
    before = lab.snapshot()
    for args in (("-H", "esb-w1", "rollback", "--dry-run"), ("-H", "esb-w1", "rollback")):
        r = lab.fab(*args)
        assert r.returncode == 1, r.stdout + r.stderr
        assert f"{carbon} leads to {victim} through a symbolic link" in r.stdout, r.stdout
        assert "TOPSECRET" not in r.stdout + r.stderr
    assert lab.snapshot() == before and victim.read_bytes() == b"TOPSECRET-root-only\n"

    # the same link claimed by a manifest the control machine did not sign
    run_dir = lab.state_dir("esb-w1") / "backups"
    real_run = sorted(os.listdir(run_dir))[0]
    m = json.loads((run_dir / real_run / "manifest.json").read_text())
    m["files"][0]["real"] = str(victim)
    (run_dir / real_run / "manifest.json").write_text(json.dumps(m))
    before = lab.snapshot()
    r = lab.fab("-H", "esb-w1", "rollback")
    assert r.returncode == 1 and "not as this machine recorded it" in r.stdout, r.stdout
    assert lab.snapshot() == before and victim.read_bytes() == b"TOPSECRET-root-only\n"


@pytest.mark.parametrize("what", ["backup", "files-folder", "manifest"])
def test_a_backup_that_is_a_link_is_never_shown_or_copied(lab, tmp_path, what):
    node_config(lab, tmp_path)
    assert lab.fab("-H", "esb-w1", "set-hostnames").returncode == 0
    d, victim = outside(tmp_path)
    run_dir = lab.state_dir("esb-w1") / "backups"
    run = run_dir / sorted(os.listdir(run_dir))[0]
    if what == "backup":
        backup = next((run / "files").iterdir())
        backup.unlink()
        os.symlink(victim, backup)
    elif what == "files-folder":
        name = next((run / "files").iterdir()).name
        shutil.rmtree(run / "files")
        (d / name).write_bytes(b"TOPSECRET-" + victim.read_bytes())
        os.symlink(d, run / "files")
    else:
        m = run / "manifest.json"
        (d / "m.json").write_bytes(m.read_bytes())
        m.unlink()
        os.symlink(d / "m.json", m)
    before = lab.snapshot()
    for args in (("-H", "esb-w1", "rollback", "--dry-run"), ("-H", "esb-w1", "rollback")):
        r = lab.fab(*args)
        assert r.returncode == 1, r.stdout + r.stderr
        assert "not a plain file" in r.stdout and "refused, nothing restored" in r.stdout, r.stdout
        assert "TOPSECRET" not in r.stdout + r.stderr
    assert lab.snapshot() == before


def test_an_unsigned_manifest_gets_no_setuid_bit_and_no_owner(lab, tmp_path):
    node_config(lab, tmp_path)
    home = lab.hosts["esb-w1"].home
    path = str(home / "repository" / "conf" / "carbon.xml")
    plant(lab, "esb-w1", [{"path": path, "backup": "0000-carbon.xml", "existed": True, "mode": 0o4755}],
          {"0000-carbon.xml": b"<planted/>\n"})
    before = lab.snapshot()
    r = lab.fab("rollback")
    assert r.returncode == 1 and "an unsigned manifest gives" in r.stdout and "mode 4755" in r.stdout, r.stdout
    assert lab.snapshot() == before


def test_a_run_of_another_control_machine_rolls_back_inside_the_roots_but_not_through_its_links(lab, tmp_path):
    """Another operator's machine (another run key): what can be checked on the node is restored; a link that
    only the other machine's signature could vouch for is refused, naming it."""
    node_config(lab, tmp_path)
    w1 = lab.hosts["esb-w1"]
    other = {"ESB_RUN_KEY_FILE": str(tmp_path / "other-machine.key")}
    hosts_before = w1.hosts_file.read_bytes()
    assert lab.fab("-H", "esb-w1", "map-hosts", env=other).returncode == 0
    r = lab.fab("-H", "esb-w1", "rollback")  # this machine: a plain file inside the managed roots
    assert r.returncode == 0, r.stdout + r.stderr
    assert w1.hosts_file.read_bytes() == hosts_before

    carbon = w1.conf("carbon.xml")
    shared = w1.root / "shared"
    shared.mkdir()
    os.replace(carbon, shared / "carbon.xml")
    os.symlink(shared / "carbon.xml", carbon)  # the operator's link, out of the product home
    carbon_before = (shared / "carbon.xml").read_bytes()
    assert lab.fab("-H", "esb-w1", "set-hostnames", env=other).returncode == 0
    before = lab.snapshot()
    r = lab.fab("-H", "esb-w1", "rollback")
    assert r.returncode == 1 and f"{carbon} leads to {shared / 'carbon.xml'}" in r.stdout, r.stdout
    assert "not as this machine recorded it" in r.stdout and lab.snapshot() == before
    r = lab.fab("-H", "esb-w1", "rollback", env=other)  # the machine that made the run
    assert r.returncode == 0, r.stdout + r.stderr
    assert os.path.islink(carbon) and (shared / "carbon.xml").read_bytes() == carbon_before


@pytest.mark.parametrize("private", [True, False])
def test_a_manifest_entry_without_a_mode_restores_without_widening_it(lab, tmp_path, private):
    """A manifest may record no mode (an older release's, another machine's): the backup still comes back, a
    private one as private (0600 where the file is gone, else its own mode without group and other bits), and
    neither verify, dry-run nor patch stumbles over the missing mode."""
    node_config(lab, tmp_path)
    home = lab.hosts["esb-w1"].home
    target = home / "repository" / "conf" / "security" / "secret-conf.properties"
    target.write_bytes(b"now\n")
    os.chmod(target, 0o644)
    entry = {"path": str(target), "backup": "0000-secret-conf.properties", "existed": True, "mode": None}
    if private:
        entry["private"] = True
    plant(lab, "esb-w1", [entry], {"0000-secret-conf.properties": b"before\n"})
    for args in (("rollback", "--dry-run"),):
        r = lab.fab("-H", "esb-w1", *args)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "Traceback" not in r.stdout + r.stderr and "bug" not in r.stdout.lower(), r.stdout
    r = lab.fab("-H", "esb-w1", "rollback")
    assert r.returncode == 0, r.stdout + r.stderr
    assert target.read_bytes() == b"before\n"
    assert (target.stat().st_mode & 0o777) == (0o600 if private else 0o644)
