"""The product's role rules (tasks/rules.py), the one place planners and consistency checks take them from."""
from __future__ import annotations

import pytest

from tasks import rules
from tasks.formats.sqlcheck import digest
from tasks.rules import jar_family, shipped_as
from tests.lab import SAMPLE_FIXTURE, SHARED_FIXTURE
from tests.unit.helpers import inventory

INV = inventory()
FIXTURES = [p for p in (SHARED_FIXTURE.parent, SAMPLE_FIXTURE.parent) if p.is_dir()]


def test_role_values():
    assert (rules.auto_commit("manager"), rules.auto_commit("worker")) == ("true", "false")
    assert (rules.read_only("manager"), rules.read_only("worker")) == ("false", "true")
    assert (rules.sub_domain("manager"), rules.sub_domain("worker")) == ("mgt", "worker")


def test_wka_peers_are_the_other_roles_nodes():
    mgr, w1 = INV.hosts["esb-mgr"], INV.hosts["esb-w1"]
    assert [h.name for h in rules.wka_peers(INV, mgr)] == ["esb-w1", "esb-w2"]
    assert [h.name for h in rules.wka_peers(INV, w1)] == ["esb-mgr"]


def test_local_registry_database_and_mgt_hostname_per_role():
    mgr, w1 = INV.hosts["esb-mgr"], INV.hosts["esb-w1"]
    assert (rules.local_registry_db(INV, mgr), rules.local_registry_db(INV, w1)) == ("REGISTRY_LOCAL1", "REGISTRY_LOCAL2")
    assert rules.has_mgt_hostname(mgr) and not rules.has_mgt_hostname(w1)


def test_planners_and_consistency_checks_use_the_same_rules():
    """No module but rules.py spells a role's value: the two sides cannot drift apart."""
    import inspect
    from tasks.probes import consistency
    from tasks.steps import axis2, carbon, datasources, registry
    for mod in (consistency, axis2, carbon, datasources, registry):
        src = inspect.getsource(mod)
        assert 'role == "manager"' not in src and "role == 'manager'" not in src, mod.__name__


def test_the_dbscript_digests_are_the_fixtures_own():
    """rules.SHIPPED_DBSCRIPTS recomputed from the files (issue 29): each 4.9.0 and 5.0.0 script of
    ../shared/fixtures (when present) and the sample's own copy, and nothing else."""
    import hashlib

    from tests.lab import SAMPLE_FIXTURE, SHARED_FIXTURE
    r500 = SHARED_FIXTURE.parent / "wso2esb-5.0.0"
    sample = "sample 4.9.0 (this project's reduced copy)"
    files = {SAMPLE_FIXTURE / "dbscripts/mysql.sql": ("dbscripts/mysql.sql", sample),
             SHARED_FIXTURE / "dbscripts/mysql.sql": ("dbscripts/mysql.sql", "shipped 4.9.0"),
             r500 / "dbscripts/mysql.sql": ("dbscripts/mysql.sql", "shipped 5.0.0"),
             r500 / "dbscripts/identity/mysql.sql": ("dbscripts/identity/mysql.sql", "shipped 5.0.0")}
    present = {hashlib.sha256(p.read_bytes()).hexdigest(): known for p, known in files.items() if p.is_file()}
    assert len(present) == (4 if SHARED_FIXTURE.is_dir() else 1)
    assert {k: v for k, v in rules.SHIPPED_DBSCRIPTS.items() if k in present} == present
    if SHARED_FIXTURE.is_dir():
        assert rules.SHIPPED_DBSCRIPTS == present  # no digest the fixtures do not account for


SHIPPED = {  # path in the product home -> what the digest table must say of each fixture
    SHARED_FIXTURE / "dbscripts/mysql.sql": ("dbscripts/mysql.sql", "shipped 4.9.0"),
    SHARED_FIXTURE.parent / "wso2esb-5.0.0/dbscripts/mysql.sql": ("dbscripts/mysql.sql", "shipped 5.0.0"),
    SHARED_FIXTURE.parent / "wso2esb-5.0.0/dbscripts/identity/mysql.sql":
        ("dbscripts/identity/mysql.sql", "shipped 5.0.0"),
    SAMPLE_FIXTURE / "dbscripts/mysql.sql": ("dbscripts/mysql.sql", "sample 4.9.0 (this project's reduced copy)"),
}


@pytest.mark.parametrize("path", list(SHIPPED), ids=lambda p: str(p.relative_to(p.parents[2])))
def test_the_digest_table_recomputed_from_the_fixtures(path):
    if not path.is_file():
        pytest.skip("../shared absent")
    rel, origin = SHIPPED[path]
    assert shipped_as(digest(path.read_bytes()), rel) == origin
    other = "dbscripts/identity/mysql.sql" if rel == "dbscripts/mysql.sql" else "dbscripts/mysql.sql"
    assert shipped_as(digest(path.read_bytes()), other) is None  # known only where it ships


def test_not_shipped_and_altered_scripts_have_no_origin():
    extras = [p / "wso2esb-4.9.0.extras/not-shipped/dbscripts/identity/mysql.sql" for p in FIXTURES]
    for p in extras:
        assert shipped_as(digest(p.read_bytes()), "dbscripts/identity/mysql.sql") is None
    main = SAMPLE_FIXTURE / "dbscripts/mysql.sql"
    for changed in (b"\xef\xbb\xbf" + main.read_bytes(), main.read_bytes().replace(b"\n", b"\r\n"),
                    main.read_bytes() + b"\nCREATE USER x;\n"):
        assert shipped_as(digest(changed), "dbscripts/mysql.sql") is None


@pytest.mark.parametrize("name,family", [
    ("mysql-connector-java-5.1.49.jar", "mysql-connector-java"),
    ("mysql-connector-java-5.1.30-bin.jar", "mysql-connector-java"),
    ("svnkit-all-1.8.7.wso2v1.jar", "svnkit-all"),
    ("trilead-ssh2-1.0.0-build215.jar", "trilead-ssh2"),
    ("Trilead-SSH2-build213.jar", "trilead-ssh2"),
    ("foo-v2.jar", "foo"),
    ("plain.jar", "plain"),
])
def test_jar_family_is_the_artifact_name_without_version(name, family):
    assert jar_family(name) == family
