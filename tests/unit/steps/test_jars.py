"""The jar-in-folder planner: families, decisions, and local artifact errors."""
from __future__ import annotations

import hashlib
import zipfile

import pytest

from tasks.engine.context import StepError
from tasks.steps.jars import LocalJar, load_local_jar, plan_jar
from tests.unit.helpers import base_data, inventory
from tasks.steps.jars import DROPINS, InstallJdbcDriver, InstallSvnkit
from tests.memnode import MemoryNode, product_node
from tests.unit.helpers import patch_on, plan_on, whats

LIB = "repository/components/lib"


def make_jar(path, content: str = "x"):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
        z.writestr("payload.txt", content)
    return path


def local(name: str, data: bytes = b"jar-bytes") -> LocalJar:
    from pathlib import Path
    return LocalJar("mysql_connector_jar", Path("/art") / name, data, hashlib.sha256(data).hexdigest())


def test_plan_jar_decisions():
    jar = local("mysql-connector-java-5.1.49.jar")
    # in place, nothing else of the family: nothing to do
    d = plan_jar(LIB, jar, ["mysql-connector-java-5.1.49.jar", "other-1.0.jar"], jar.sha256)
    assert (d.items, d.upload, d.stale) == ([], False, [])
    # absent, with a stale version and an unrelated jar
    d = plan_jar(LIB, jar, ["mysql-connector-java-5.1.30-bin.jar", "svnkit-all-1.8.7.wso2v1.jar", "README"], None)
    assert d.upload and d.stale == ["mysql-connector-java-5.1.30-bin.jar"]
    assert [i.line() for i in d.items] == [
        f"{LIB}/mysql-connector-java-5.1.49.jar: sha256: wanted '{jar.sha256}', actual (absent)",
        f"{LIB}/mysql-connector-java-5.1.30-bin.jar: other version of mysql-connector-java (stale): "
        "wanted (absent), actual 'present'",
    ]
    # same name, other bytes: upload (RemoteHost.write backs the old one up)
    d = plan_jar(LIB, jar, ["mysql-connector-java-5.1.49.jar"], "0" * 64)
    assert d.upload and d.items[0].actual == "0" * 64 and d.stale == []
    # folder absent
    d = plan_jar(LIB, jar, None, None)
    assert d.upload and d.items[0].line() == f"{LIB}: directory: wanted 'present', actual (absent)"


def test_local_jar_errors_name_the_key_and_path(tmp_path):
    data = base_data()
    inv = inventory(data, path=str(tmp_path / "hosts.toml"))
    with pytest.raises(StepError, match=r"\[artifacts\] mysql_connector_jar is not set in .*hosts.toml"):
        load_local_jar(inv, "mysql_connector_jar")
    data["artifacts"] = {"mysql_connector_jar": "artifacts/mysql-connector-java-5.1.49.jar",
                         "svnkit_jar": "not-a-jar.jar"}
    inv = inventory(data, path=str(tmp_path / "hosts.toml"))
    with pytest.raises(StepError) as e:
        load_local_jar(inv, "mysql_connector_jar")
    assert str(e.value).startswith(f"[artifacts] mysql_connector_jar: {tmp_path}/artifacts/mysql-connector-java-5.1.49.jar "
                                   "does not exist on this machine")
    (tmp_path / "not-a-jar.jar").write_text("hello")
    with pytest.raises(StepError, match="not a jar"):
        load_local_jar(inv, "svnkit_jar")
    (tmp_path / "artifacts").mkdir()
    make_jar(tmp_path / "artifacts/mysql-connector-java-5.1.49.jar")
    jar = load_local_jar(inv, "mysql_connector_jar")
    assert jar.name == "mysql-connector-java-5.1.49.jar" and jar.family == "mysql-connector-java"
    assert jar.sha256 == hashlib.sha256(jar.data).hexdigest()


def test_a_local_jar_far_too_big_is_refused_unread(tmp_path):
    import tomllib
    from tasks.hoststoml import parse_inventory
    from tasks.steps.jars import LOCAL_JAR_LIMIT, load_local_jar
    from tests.unit.helpers import BASE_TOML
    big = tmp_path / "mysql-connector-java-5.1.49.jar"
    with open(big, "wb") as f:
        f.truncate(LOCAL_JAR_LIMIT + 1)  # sparse: nothing is written, and nothing must be read
    data = tomllib.loads(BASE_TOML)
    data["artifacts"] = {"mysql_connector_jar": str(big)}
    inv = parse_inventory(data, tmp_path / "hosts.toml")
    with pytest.raises(StepError, match=r"is 268435457 bytes, more than a jar may hold .* refused, not read"):
        load_local_jar(inv, "mysql_connector_jar")


# ---------------------------------------------------------------- the steps on a node in memory (tests/memnode.py)

def jar_inventory(tmp_path):
    """hosts.toml naming three local jars (tmp_path/artifacts)."""
    data = base_data()
    names = {"mysql_connector_jar": "mysql-connector-java-5.1.49.jar", "svnkit_jar": "svnkit-all-1.8.7.wso2v1.jar",
             "trilead_jar": "trilead-ssh2-1.0.0-build215.jar"}
    (tmp_path / "artifacts").mkdir()
    for key, name in names.items():
        make_jar(tmp_path / "artifacts" / name, key)
    data["artifacts"] = {k: f"artifacts/{n}" for k, n in names.items()}
    return inventory(data, path=str(tmp_path / "hosts.toml"))


def test_install_jdbc_driver_uploads_the_jar_removes_a_stale_version_and_converges(tmp_path):
    inv = jar_inventory(tmp_path)
    node = product_node(inv.hosts["esb-w1"])
    lib = f"{inv.hosts['esb-w1'].product_home}/{LIB}"
    node.add_file(f"{lib}/mysql-connector-java-5.1.30-bin.jar", b"old jar")
    node.add_file(f"{lib}/other-1.0.jar", b"unrelated")
    plan, _ = plan_on(InstallJdbcDriver(), node, inv)
    assert whats(plan) == [(f"{LIB}/mysql-connector-java-5.1.49.jar", "sha256"),
                           (f"{LIB}/mysql-connector-java-5.1.30-bin.jar",
                            "other version of mysql-connector-java (stale)")]
    assert [a.describe().split(" ")[0] for a in plan.actions] == ["upload", "remove"]
    patch_on(InstallJdbcDriver(), node, inv)
    assert node.listdir(lib) == ["mysql-connector-java-5.1.49.jar", "other-1.0.jar"]
    assert node.data(f"{lib}/mysql-connector-java-5.1.49.jar") == (tmp_path / "artifacts/mysql-connector-java-5.1.49.jar"
                                                                   ).read_bytes()
    assert node.stat(f"{lib}/mysql-connector-java-5.1.49.jar").mode & 0o7777 == 0o644
    assert node.backups == [f"{lib}/mysql-connector-java-5.1.30-bin.jar"]
    node.reads.clear()
    again, _ = plan_on(InstallJdbcDriver(), node, inv)
    assert not again and node.reads == []  # the jar in place is judged by its size and zip directory, never read whole


def test_install_svnkit_makes_the_missing_folders_and_converges(tmp_path):
    inv = jar_inventory(tmp_path)
    node = product_node(inv.hosts["esb-mgr"])
    plan, _ = plan_on(InstallSvnkit(), node, inv)
    assert whats(plan) == [(DROPINS, "directory"), (f"{DROPINS}/svnkit-all-1.8.7.wso2v1.jar", "sha256"),
                           (LIB, "directory"), (f"{LIB}/trilead-ssh2-1.0.0-build215.jar", "sha256")]
    patch_on(InstallSvnkit(), node, inv)
    assert not plan_on(InstallSvnkit(), node, inv)[0]
    # a jar of the same size with other content is told apart by its zip directory
    home = inv.hosts["esb-mgr"].product_home
    path = f"{home}/{DROPINS}/svnkit-all-1.8.7.wso2v1.jar"
    node.add_file(path, bytes(len(node.data(path))))
    assert plan_on(InstallSvnkit(), node, inv)[0].items[0].actual == "other bytes (the same size, another zip directory)"


def test_the_jar_steps_refuse_a_node_without_its_product_home(tmp_path):
    inv = jar_inventory(tmp_path)
    node = MemoryNode(inv.hosts["esb-w1"])
    with pytest.raises(StepError, match="product home /opt/wso2esb-4.9.0 does not exist on esb-w1"):
        plan_on(InstallJdbcDriver(), node, inv)
