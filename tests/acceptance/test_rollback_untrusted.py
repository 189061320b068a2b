"""rollback treats what a node holds as untrusted (issue 24): folders and files replaced by symbolic links, a
backup that is a link, a manifest that claims a link's target: rollback resolves what each path really reaches on
the node and refuses, with nothing changed anywhere, inside or outside the managed roots. Links the operator
made are honoured only as this control machine recorded and signed them. A run this machine did not sign (planted
on the node, another machine's key, a signed manifest copied from elsewhere) is listed and skipped, never acted on
(issue 29)."""
from __future__ import annotations

import json
import os
import shutil

import pytest

from tests.acceptance.cluster import certs_dir, node_config
from tests.lab import Lab


@pytest.fixture(autouse=True)
def no_earlier_backups(lab_session):
    shutil.rmtree(lab_session.dir / "state", ignore_errors=True)


RUN = "20990101T000000.000000-1"


def plant(lab: Lab, host: str, files: list, backups: dict | None = None, signed: bool = True, run: str = RUN,
          **extra) -> None:
    """A run folder on the node; signed=True: as this control machine signs (the fab runs share its run key), so
    that what rollback checks on the node itself is what is tested."""
    from tasks.remote import runkey
    from tasks.remote.backupruns import run_order
    d = lab.state_dir(host) / "backups" / run
    (d / "files").mkdir(parents=True)
    for name, data in (backups or {}).items():
        (d / "files" / name).write_bytes(data)
    manifest = {"run_id": run_order(run)[1], "host": host, "files": files, **extra}
    (d / "manifest.json").write_text(json.dumps(runkey.sign(manifest) if signed else manifest))


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
    assert r.returncode == 0 and "skipped, never restored: its manifest is not signed" in r.stdout, r.stdout
    assert "nothing to roll back" in r.stdout and "TOPSECRET" not in r.stdout
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
        if what == "manifest":  # unreadable through the link: the run is listed and skipped
            assert r.returncode == 0 and "skipped, never restored" in r.stdout, r.stdout + r.stderr
            assert "manifest.json: it leads to" in r.stdout and "through a symbolic link" in r.stdout
        else:
            assert r.returncode == 1, r.stdout + r.stderr
            assert "not a plain file" in r.stdout and "refused, nothing restored" in r.stdout, r.stdout
        assert "TOPSECRET" not in r.stdout + r.stderr
    assert lab.snapshot() == before


@pytest.mark.parametrize("attack", ["setuid", "hosts-file", "sql", "peers", "copied", "not-json"])
def test_a_run_this_machine_did_not_sign_is_listed_and_skipped(lab, tmp_path, attack):
    """The hostile tester's planted runs: an unsigned manifest restoring a hosts file with the attacker's bytes,
    giving a file a setuid bit, running its SQL as the database admin, naming the manager as a peer so that a
    rollback of the worker rolls the manager back too; a signed manifest copied from the manager; a manifest
    that is not JSON. Each is listed with why and skipped; nothing anywhere changes, with or without -H."""
    node_config(lab, tmp_path)
    w1 = lab.hosts["esb-w1"]
    carbon = str(w1.conf("carbon.xml"))
    assert lab.fab("-H", "esb-mgr", "set-hostnames").returncode == 0  # a real run of this machine on the manager
    mgr_runs = lab.state_dir("esb-mgr") / "backups"
    real = sorted(os.listdir(mgr_runs))[0]
    if attack == "setuid":
        plant(lab, "esb-w1", [{"path": carbon, "backup": "0000-carbon.xml", "existed": True, "mode": 0o4755}],
              {"0000-carbon.xml": b"<planted/>\n"}, signed=False)
    elif attack == "hosts-file":
        plant(lab, "esb-w1", [{"path": str(w1.hosts_file), "backup": "0000-hosts", "existed": True, "mode": 0o644}],
              {"0000-hosts": b"6.6.6.6 carbondb.mysql-wso2.com\n"}, signed=False)
    elif attack == "sql":
        plant(lab, "esb-w1", [], {}, signed=False,
              sql=[{"name": "0000-create-dbs.sql", "step": "create-dbs", "via": "db1", "db": None}])
        (lab.state_dir("esb-w1") / "backups" / RUN / "sql").mkdir()
        (lab.state_dir("esb-w1") / "backups" / RUN / "sql" / "0000-create-dbs.sql").write_text(
            "GRANT ALL ON *.* TO 'evil'@'%' IDENTIFIED BY 'x' WITH GRANT OPTION;\n")
    elif attack == "peers":
        plant(lab, "esb-w1", [{"path": carbon, "backup": None, "existed": False, "mode": None}], signed=False,
              run=real, peers=["esb-mgr"])
    elif attack == "copied":  # the manager's signed manifest, copied under the worker's state
        shutil.copytree(mgr_runs / real, lab.state_dir("esb-w1") / "backups" / real)
    else:
        (lab.state_dir("esb-w1") / "backups" / RUN).mkdir(parents=True)
        (lab.state_dir("esb-w1") / "backups" / RUN / "manifest.json").write_text("{not json")
    before = lab.snapshot()
    for args in (("-H", "esb-w1", "rollback", "--dry-run"), ("-H", "esb-w1", "rollback"),
                 ("-H", "esb-w1", "rollback", "--all")):
        r = lab.fab(*args)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "esb-w1: run " in r.stdout and "skipped, never restored" in r.stdout, r.stdout
        assert "Traceback" not in r.stdout + r.stderr and "rolling back" not in r.stdout
        assert lab.snapshot() == before
    doc = json.loads(lab.fab("-H", "esb-w1", "rollback", "--dry-run", "--json").stdout)
    assert doc["skipped_runs"][0]["host"] == "esb-w1" and doc["skipped_runs"][0]["why"]
    code = {"copied": "other-host", "not-json": "not-json"}.get(attack, "unsigned")  # why, as a code (issue 31)
    assert doc["skipped_runs"][0]["code"] == code and doc["skipped_runs"][0]["run"], doc["skipped_runs"]
    if attack == "setuid":  # the whole cluster: the manager's own run is undone, the worker's planted one is not
        r = lab.fab("rollback")
        assert r.returncode == 0 and "[esb-mgr] rollback: rolled back" in r.stdout, r.stdout
        assert "[esb-w1] rollback: ok" in r.stdout and w1.conf("carbon.xml").read_bytes() != b"<planted/>\n"


def test_a_run_of_another_control_machine_is_skipped_until_its_key_is_shared(lab, tmp_path):
    """Another operator's machine (another run key): its run is listed and skipped; with the same key (README
    "Runs": how a team shares it) the run is undone, a link the operator made included."""
    node_config(lab, tmp_path)
    w1 = lab.hosts["esb-w1"]
    other = {"ESB_RUN_KEY_FILE": str(tmp_path / "other-machine.key")}
    hosts_before = w1.hosts_file.read_bytes()
    assert lab.fab("-H", "esb-w1", "map-hosts", env=other).returncode == 0
    changed = w1.hosts_file.read_bytes()
    r = lab.fab("-H", "esb-w1", "rollback")  # this machine: not its run
    assert r.returncode == 0 and "skipped, never restored: its manifest is not signed" in r.stdout, r.stdout
    assert w1.hosts_file.read_bytes() == changed
    r = lab.fab("-H", "esb-w1", "rollback", env=other)
    assert r.returncode == 0, r.stdout + r.stderr
    assert w1.hosts_file.read_bytes() == hosts_before

    carbon = w1.conf("carbon.xml")
    shared = w1.root / "shared"
    shared.mkdir()
    os.replace(carbon, shared / "carbon.xml")
    os.symlink(shared / "carbon.xml", carbon)  # the operator's link, out of the product home
    carbon_before = (shared / "carbon.xml").read_bytes()
    lab.write_toml(lab.toml().replace('role = "worker"\n', f'role = "worker"\nlink_roots = ["{shared}"]\n', 1))
    assert lab.fab("-H", "esb-w1", "set-hostnames", env=other).returncode == 0
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


@pytest.mark.parametrize("which", ["plain", "private"])
def test_a_backup_changed_on_the_node_is_not_restored(lab, tmp_path, which):
    """A signed run's backup is a file of the node's state: the node changing its bytes (its own hosts file entry
    for the database, a key of its choosing) makes rollback refuse it, the target as it is."""
    node_config(lab, tmp_path)
    if which == "plain":
        assert lab.fab("-H", "esb-w1", "map-hosts").returncode == 0
        target = lab.hosts["esb-w1"].hosts_file
    else:  # a pair renewed: its key backed up on the host (private)
        import subprocess
        assert lab.fab("-H", "esb-mgr", "create-certs").returncode == 0
        d = certs_dir(lab)
        subprocess.run(["openssl", "req", "-x509", "-key", str(d / "esb.wso2.com.key"), "-subj", "/CN=other",
                        "-days", "365", "-out", str(d / "esb.wso2.com.crt")], check=True, capture_output=True)
        assert lab.fab("-H", "esb-mgr", "create-certs").returncode == 0
        target = d / "esb.wso2.com.key"
    host = "esb-w1" if which == "plain" else "esb-mgr"
    runs = lab.state_dir(host) / "backups"
    backups = [p for p in sorted(runs.glob("*/files/*")) if p.name.endswith(target.name)]
    assert backups, sorted(runs.glob("*/files/*"))
    backups[-1].write_bytes(b"6.6.6.6 carbondb.mysql-wso2.com\n" if which == "plain" else b"NODE'S OWN KEY\n")
    before = target.read_bytes()
    r = lab.fab("-H", host, "rollback")
    assert r.returncode == 1 and "not what the run saved (changed on the node since)" in r.stdout, r.stdout
    assert target.read_bytes() == before and "NODE'S OWN" not in r.stdout
