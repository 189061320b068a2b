"""install-jdbc-driver and install-svnkit over the real sshd lab, with small jars the tests build themselves
(the real connector, SVNKit and trilead jars cannot be downloaded here)."""
from __future__ import annotations

import json

from tests.lab import make_jar  # noqa: F401  (re-exported for other test modules)

LIB = "repository/components/lib"
DROPINS = "repository/components/dropins"
MYSQL, SVNKIT, TRILEAD = ("mysql-connector-java-5.1.49.jar", "svnkit-all-1.8.7.wso2v1.jar",
                          "trilead-ssh2-1.0.0-build215.jar")
NODES = ("esb-mgr", "esb-w1", "esb-w2")


def artifacts(lab, tmp_path, **override) -> dict:
    """Build the three jars and point [artifacts] at them."""
    arts = {"mysql_connector_jar": make_jar(tmp_path / "artifacts" / MYSQL, "connector"),
            "svnkit_jar": make_jar(tmp_path / "artifacts" / SVNKIT, "svnkit"),
            "trilead_jar": make_jar(tmp_path / "artifacts" / TRILEAD, "trilead")}
    arts.update(override)
    lab.extra_toml = "[artifacts]\n" + "".join(f'{k} = "{v}"\n' for k, v in arts.items())
    lab.write_toml()
    return arts


def test_jars_reach_every_node_then_nothing_changes(lab, tmp_path):
    arts = artifacts(lab, tmp_path)
    before = lab.snapshot()
    r = lab.fab("install-jdbc-driver", "--dry-run")
    assert r.returncode == 0 and r.stdout.count(f"# would run: upload {arts['mysql_connector_jar']} -> ") == 3
    assert lab.snapshot() == before
    for step in ("install-jdbc-driver", "install-svnkit"):
        r = lab.fab(step)
        assert r.returncode == 0, r.stdout + r.stderr
        assert r.stdout.count(f"{step}: changed") == 3
    for n in NODES:
        home = lab.hosts[n].home
        assert (home / LIB / MYSQL).read_bytes() == arts["mysql_connector_jar"].read_bytes()
        assert (home / DROPINS / SVNKIT).read_bytes() == arts["svnkit_jar"].read_bytes()
        assert (home / LIB / TRILEAD).read_bytes() == arts["trilead_jar"].read_bytes()
        assert (home / LIB / MYSQL).stat().st_mode & 0o777 == 0o644
    assert "[db1]" not in r.stdout  # not an ESB node: not a default target (a sha256 may hold "db1")
    before = lab.snapshot()
    for step in ("install-jdbc-driver", "install-svnkit"):
        r = lab.fab(step)
        assert r.returncode == 0 and r.stdout.count(f"{step}: ok") == 3
        assert lab.fab(step, "--verify").returncode == 0
    assert lab.snapshot() == before


def test_a_swapped_jar_is_drift_and_patch_puts_it_back(lab, tmp_path):
    arts = artifacts(lab, tmp_path)
    assert lab.fab("install-svnkit").returncode == 0
    target = lab.hosts["esb-w2"].home / DROPINS / SVNKIT
    make_jar(target, "somebody else's build")
    before = lab.snapshot()
    r = lab.fab("install-svnkit", "--verify")
    assert r.returncode == 2
    assert f"[esb-w2] install-svnkit: drift (1 item)\n    {DROPINS}/{SVNKIT}: sha256: wanted '" in r.stdout
    assert r.stdout.count(": drift") == 1 and r.stdout.count(" 1 drift") == 1  # esb-w2's line and the summary
    assert "esb-w2   ok=0 drift=1" in r.stdout and "esb-w1   ok=1 drift=0" in r.stdout  # the recap
    assert lab.snapshot() == before
    j = json.loads(lab.fab("install-svnkit", "--verify", "--json").stdout)
    assert j["hosts"]["esb-w2"]["install-svnkit"]["status"] == "drift"
    assert j["hosts"]["esb-mgr"]["install-svnkit"]["status"] == "ok"
    assert lab.fab("install-svnkit").returncode == 0
    assert target.read_bytes() == arts["svnkit_jar"].read_bytes()
    assert lab.fab("install-svnkit", "--verify").returncode == 0


def test_a_stale_connector_version_is_reported_then_replaced_with_a_backup(lab, tmp_path):
    artifacts(lab, tmp_path)
    lib = lab.hosts["esb-w1"].home / LIB
    old = make_jar(lib / "mysql-connector-java-5.1.30-bin.jar", "old connector")
    old_bytes = old.read_bytes()
    assert lab.fab("install-jdbc-driver").returncode == 0
    assert not old.exists() and (lib / MYSQL).exists()
    backups = list((lab.state_dir("esb-w1") / "backups").glob("*/files/*-mysql-connector-java-5.1.30-bin.jar"))
    assert len(backups) == 1 and backups[0].read_bytes() == old_bytes
    # comes back (a hand copy): verify names it, patch removes it again
    make_jar(old, "old connector")
    r = lab.fab("install-jdbc-driver", "--verify")
    assert r.returncode == 2
    assert (f"{LIB}/mysql-connector-java-5.1.30-bin.jar: other version of mysql-connector-java (stale): "
            "wanted (absent), actual 'present'") in r.stdout
    assert lab.fab("install-jdbc-driver").returncode == 0 and not old.exists()
    assert lab.fab("install-jdbc-driver", "--verify").returncode == 0


def test_a_missing_jar_fails_naming_key_and_path_and_changes_nothing(lab, tmp_path):
    missing = tmp_path / "nowhere" / TRILEAD
    artifacts(lab, tmp_path, trilead_jar=missing)
    before = lab.snapshot()
    r = lab.fab("install-svnkit")
    assert r.returncode == 1
    assert f"[esb-mgr] install-svnkit: failed: [artifacts] trilead_jar: {missing} does not exist on this machine" \
        in r.stdout
    assert lab.snapshot() == before  # not even the svnkit jar, whose file exists
    lab.extra_toml = ""
    lab.write_toml()
    r = lab.fab("-H", "esb-w1", "install-jdbc-driver")
    assert r.returncode == 1 and "[artifacts] mysql_connector_jar is not set in" in r.stdout
    assert lab.snapshot() == before


def same_size_jar(path, like, content: bytes):
    """A jar of exactly `like`'s size with other bytes in its payload (stored, not deflated)."""
    import zipfile
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr(zipfile.ZipInfo("META-INF/MANIFEST.MF", (2026, 1, 1, 0, 0, 0)), "Manifest-Version: 1.0\n")
        z.writestr(zipfile.ZipInfo("payload.bin", (2026, 1, 1, 0, 0, 0)), content)
    assert like is None or path.stat().st_size == like.stat().st_size
    return path


def test_a_jar_of_the_same_size_with_other_bytes_is_drift_and_is_not_read_whole(lab, tmp_path):
    """The remote jar is compared by size and zip central directory (CRC-32 of every entry): the jar is
    never read whole, and a same-size jar of other content is still drift (issue 15)."""
    wanted = same_size_jar(tmp_path / "mine" / SVNKIT, None, b"a" * 300_000)
    arts = artifacts(lab, tmp_path, svnkit_jar=wanted)
    assert lab.fab("install-svnkit").returncode == 0
    target = lab.hosts["esb-w1"].home / DROPINS / SVNKIT
    same_size_jar(target, wanted, b"b" * 300_000)
    stats = tmp_path / "stats.jsonl"
    r = lab.fab("install-svnkit", "--verify", env={"ESB_STATS_FILE": str(stats)})
    assert r.returncode == 2 and "another zip directory" in r.stdout, r.stdout
    read = {h: c["bytes_read"] for h, c in json.loads(stats.read_text().splitlines()[-1])["hosts"].items()}
    assert all(v < 100_000 for v in read.values()), read  # 300 kB jars, a few hundred bytes read of each
    assert lab.fab("install-svnkit").returncode == 0 and target.read_bytes() == arts["svnkit_jar"].read_bytes()
    assert lab.fab("install-svnkit", "--verify").returncode == 0
