"""rollback over the real lab: byte-for-byte restore of what the last run changed, one run at a time,
private keys restored on the host, secrets never shown, backups pruned to [run].keep_backups."""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from tests.acceptance.cluster import (ESB, SVN_PW, certs_dir, cluster, fab_json, no_secret,  # noqa: F401
                                      node_config, statuses, svnserve)
from tests.acceptance.util import conf_diff, edit
from tests.lab import Lab


@pytest.fixture(autouse=True)
def no_earlier_backups(lab_session):
    """Backups (state_dir) outlive the per-test reset of the lab: start each test with none."""
    shutil.rmtree(lab_session.dir / "state", ignore_errors=True)


def files_and_modes(lab) -> dict[str, tuple[bytes, int]]:
    """Bytes and permission bits of every file under every host root (mtimes may differ after a restore;
    the backups in state_dir stay, and so do the directories a run created: rollback does not undo them)."""
    return {p: (data, os.stat(p).st_mode & 0o7777) for p, (data, _) in Lab.files(lab.snapshot(state=False)).items()}


def backup_runs(lab, host: str) -> list[str]:
    d = lab.state_dir(host) / "backups"
    return sorted(os.listdir(d)) if d.exists() else []


def test_rollback_after_setup_cluster_restores_every_file_byte_for_byte(cluster):
    lab = cluster
    before = files_and_modes(lab)
    assert lab.fab("setup-cluster").returncode == 0
    after_setup = lab.snapshot()
    assert set(after_setup) > set(before)  # certificates and jars were created

    r = lab.fab("rollback", "--dry-run")
    assert r.returncode == 0, r.stdout + r.stderr
    no_secret(r, lab.mariadb.root_password)
    assert "-        <parameter name=\"domain\">wso2.esb.domain</parameter>" in r.stdout
    assert "+        <parameter name=\"domain\">wso2.carbon.domain</parameter>" in r.stdout
    assert "# would run: remove " in r.stdout and "PRIVATE KEY" not in r.stdout
    assert lab.snapshot() == after_setup

    code, doc = fab_json(lab, "rollback", "--dry-run")  # the same as data (issue 31), nothing changed
    assert code == 0 and doc["mode"] == "rollback" and doc["dry_run"] is True, doc
    planned = {h: doc["hosts"][h]["rollback"]["fields"] for h in ESB}
    assert lab.snapshot() == after_setup
    code, doc = fab_json(lab, "rollback")
    assert code == 0, doc
    assert doc["mode"] == "rollback" and doc["run_id"] and doc["dry_run"] is False
    assert {statuses(doc)[(h, "rollback")] for h in ESB} == {"changed"}
    for h in ESB:  # each host's row: the run, the files restored and removed, as lists, not a sentence
        f = doc["hosts"][h]["rollback"]["fields"]
        assert f["run"] == doc["run_id"] and f["status"] == "changed", f
        assert str(lab.hosts[h].conf("axis2/axis2.xml")) in f["restored"], f
        assert f["restored"] == planned[h]["restored"] and f["removed"] == planned[h]["removed"], (f, planned[h])
        assert all(p in f["files"] for p in f["restored"] + f["removed"]), f
    assert files_and_modes(lab) == before  # every changed file back, byte for byte, with its mode; new ones gone
    assert not list(certs_dir(lab).iterdir())
    for h in ESB:
        assert conf_diff(lab, h, "axis2/axis2.xml") == []

    v = lab.fab("verify", "--steps", "patch-axis2,enable-depsync,cluster")
    assert v.returncode == 2  # verify shows the original state again
    assert "clustering/parameter[@name='domain']: wanted 'wso2.esb.domain', actual 'wso2.carbon.domain'" in v.stdout
    r = lab.fab("rollback")
    assert r.returncode == 0 and "nothing to roll back" in r.stdout
    assert files_and_modes(lab) == before


def test_each_rollback_undoes_one_more_run_newest_first(lab, tmp_path):
    node_config(lab, tmp_path)
    shipped = files_and_modes(lab)
    assert lab.fab("patch-axis2").returncode == 0
    axis2_done = files_and_modes(lab)
    assert lab.fab("-H", "esb-w1", "enable-depsync").returncode == 0

    r = lab.fab("rollback")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "[esb-w1] rollback: rolled back (1 item)" in r.stdout
    assert "[esb-mgr] rollback: ok: nothing from run" in r.stdout
    no_secret(r)
    assert files_and_modes(lab) == axis2_done

    r = lab.fab("rollback", "--dry-run")
    assert r.returncode == 0 and r.stdout.count(": would change") == 3
    assert files_and_modes(lab) == axis2_done
    r = lab.fab("rollback")
    assert r.returncode == 0 and r.stdout.count("rolled back (1 item)") == 3
    assert files_and_modes(lab) == shipped
    r = lab.fab("rollback")
    assert r.returncode == 0 and "nothing to roll back" in r.stdout


def test_rollback_dry_run_masks_passwords_in_the_diff(lab, tmp_path):
    node_config(lab, tmp_path)
    assert lab.fab("-H", "esb-w2", "enable-depsync").returncode == 0
    lab.write_env()  # the secrets are gone from the environment: the diff must still not show them
    r = lab.fab("rollback", "--dry-run")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "-        <SvnPassword>********</SvnPassword>" in r.stdout
    assert SVN_PW not in r.stdout and "Svn&amp;Pw" not in r.stdout
    code, doc = fab_json(lab, "rollback", "--dry-run")
    assert SVN_PW not in json.dumps(doc) and "Svn&amp;Pw" not in json.dumps(doc)


def test_a_renewed_private_key_is_restored_on_the_host(lab):
    d = certs_dir(lab)
    lab.extra_toml = f'[certs]\ndir = "{d}"\n'
    lab.write_toml()
    assert lab.fab("create-certs").returncode == 0
    key = d / "esb.wso2.com.key"
    old_key, old_crt = key.read_bytes(), (d / "esb.wso2.com.crt").read_bytes()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=other.example",
                    "-keyout", str(d / "tmp.key"), "-out", str(d / "esb.wso2.com.crt"), "-days", "2"],
                   check=True, capture_output=True)
    (d / "tmp.key").unlink()
    hand_crt = (d / "esb.wso2.com.crt").read_bytes()
    assert hand_crt != old_crt
    assert lab.fab("create-certs").returncode == 0  # renews the pair flagged by verify
    assert key.read_bytes() != old_key

    r = lab.fab("rollback", "--dry-run")
    assert r.returncode == 0 and f"# would run: restore {key} on the host from its backup" in r.stdout
    assert "PRIVATE KEY" not in r.stdout and old_key.decode().splitlines()[1] not in r.stdout
    r = lab.fab("rollback")
    assert r.returncode == 0, r.stdout + r.stderr
    assert key.read_bytes() == old_key and key.stat().st_mode & 0o777 == 0o600
    assert (d / "esb.wso2.com.crt").read_bytes() == hand_crt  # the hand-made certificate from before that run


def test_backups_are_pruned_to_keep_backups(lab, tmp_path):
    lab.extra_toml = "[run]\nkeep_backups = 2\n"
    lab.write_toml()
    f = lab.hosts["esb-w1"].conf("axis2/axis2.xml")
    for i in range(3):
        if i:
            edit(f, "<parameter name=\"domain\">wso2.esb.domain</parameter>",
                 f"<parameter name=\"domain\">hand.edit{i}</parameter>")
        assert lab.fab("-H", "esb-w1", "patch-axis2").returncode == 0
    runs = backup_runs(lab, "esb-w1")
    assert len(runs) == 2
    assert lab.fab("rollback").returncode == 0  # the newest: back to the second hand edit
    assert "hand.edit2" in f.read_text(encoding="latin-1")


def plant(lab, host: str, run_id: str, files: list, backups: dict | None = None) -> None:
    """A backup run made by hand in the host's state_dir (as a planted or corrupt manifest would be)."""
    d = lab.state_dir(host) / "backups" / run_id
    (d / "files").mkdir(parents=True)
    for name, data in (backups or {}).items():
        (d / "files" / name).write_bytes(data)
    from tasks.remote.runkey import sign  # signed as this machine signs: each entry is still checked on its own
    (d / "manifest.json").write_text(json.dumps(sign({"run_id": run_id, "host": host, "files": files})))


@pytest.mark.parametrize("case", ["remove-outside", "restore-outside", "dotdot", "relative", "backup-name",
                                  "bad-mode", "not-a-dict"])
def test_a_planted_manifest_cannot_make_rollback_touch_what_the_project_does_not_manage(lab, tmp_path, case):
    victim = tmp_path / "victim.conf"
    victim.write_bytes(b"precious\n")
    home = lab.hosts["esb-w1"].home
    inside = str(home / "repository/conf/carbon.xml")
    entries = {
        "remove-outside": [{"path": str(victim), "backup": None, "existed": False, "mode": None}],
        "restore-outside": [{"path": inside, "backup": "0000-carbon.xml", "existed": True, "mode": 0o644},
                            {"path": str(victim), "backup": "0001-victim.conf", "existed": True, "mode": 0o4755}],
        "dotdot": [{"path": f"{home}/../../../..{victim}", "backup": None, "existed": False, "mode": None}],
        "relative": [{"path": "victim.conf", "backup": None, "existed": False, "mode": None}],
        "backup-name": [{"path": inside, "backup": f"../../../../../../..{victim}", "existed": True, "mode": 0o644}],
        "bad-mode": [{"path": inside, "backup": "0000-carbon.xml", "existed": True, "mode": 0o17777}],
        "not-a-dict": ["/etc/passwd"],
    }[case]
    plant(lab, "esb-w1", "20990101T000000.000000-1", entries,
          {"0000-carbon.xml": b"<planted/>\n", "0001-victim.conf": b"#!/bin/sh\n"})
    before, victim_before = lab.snapshot(), victim.read_bytes()
    r = lab.fab("rollback")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "[esb-w1] rollback: failed: the manifest of run 20990101T000000.000000-1 on esb-w1 " in r.stdout, r.stdout
    assert "nothing restored" in r.stdout and "Traceback" not in r.stdout + r.stderr
    assert victim.read_bytes() == victim_before and os.stat(victim).st_mode & 0o7777 == 0o644
    assert lab.snapshot() == before  # not even the file inside the product home, nor a rolled-back mark


def test_a_run_that_wrote_nothing_is_no_rollback_step(lab, tmp_path):
    node_config(lab, tmp_path)
    assert lab.fab("-H", "esb-w1", "set-hostnames").returncode == 0
    plant(lab, "esb-w1", "20990101T000000.000000-1", [])  # newer, but lists no file
    r = lab.fab("-H", "esb-w1", "rollback")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "[esb-w1] rollback: rolled back (1 item)" in r.stdout
    assert conf_diff(lab, "esb-w1", "carbon.xml") == []
