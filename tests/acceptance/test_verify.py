"""`fab verify` over the real lab: the host-by-step table, --json, --steps, -H, an unreachable host,
and each cluster consistency fault planted by hand after a setup (one test each)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tasks.rules import AXIS2, CARBON, CATALINA, MASTER, REGISTRY, USER_MGT
from tests.acceptance.cluster import ESB, fab_json, node_config, statuses
from tests.acceptance.util import edit
from tests.lab import LAB_NET as NET, REPO, Lab

STEPS = "map-hosts,patch-axis2,set-proxyports,cluster"


@pytest.fixture(scope="module")
def guide_state(lab_session, tmp_path_factory):
    """Once per module: the node steps on every ESB node; the resulting files and hosts.toml."""
    lab = lab_session
    lab.reset()
    node_config(lab, tmp_path_factory.mktemp("verify"))
    for task in ("setup-manager", "setup-worker"):
        r = lab.fab(task)
        assert r.returncode == 0, r.stdout + r.stderr
    files = {p: data for p, (data, _) in Lab.files(lab.snapshot(state=False)).items()}
    return lab.extra_toml, (lab.dir / ".env").read_text(), files


@pytest.fixture
def planted(lab, guide_state):
    """The lab with the guide-state files back in place (each test plants its own fault)."""
    extra, env, files = guide_state
    lab.extra_toml = extra
    lab.write_toml()
    (lab.dir / ".env").write_text(env)
    for path, data in files.items():
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_bytes(data)
    return lab


def test_table_after_setup_with_loopback_warnings_only(planted):
    lab = planted
    before = lab.snapshot()
    r = lab.fab("verify", "--steps", STEPS)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert lines[:5] == [
        "step            esb-mgr  esb-w1  esb-w2  db1",
        "map-hosts       ok       ok      ok      -",
        "patch-axis2     ok       ok      ok      -",
        "set-proxyports  ok       -       -       -",
        "cluster         ok*      ok*     ok*     -",
    ]
    assert "warnings (they do not change the exit status):" in r.stdout
    assert ("[esb-w1] cluster: repository/conf/axis2/axis2.xml: clustering/parameter[@name='localMemberHost']: "
            f"wanted 'an IP other machines can reach (not loopback)', actual '{NET}.3'") in r.stdout
    assert lines[-5:] == ["recap:", "  esb-mgr  ok=4 drift=0 failed=0 unreachable=0 skipped=0",
                          "  esb-w1   ok=3 drift=0 failed=0 unreachable=0 skipped=0",
                          "  esb-w2   ok=3 drift=0 failed=0 unreachable=0 skipped=0",
                          "3 hosts, 10 steps: 10 ok"]
    assert lab.snapshot() == before  # read-only: bytes and mtimes

    code, doc = fab_json(lab, "verify", "--steps", STEPS)
    assert code == 0 and doc["exit"] == 0 and doc["mode"] == "verify"
    assert doc["steps"] == STEPS.split(",")
    assert set(doc["hosts"]) == {"esb-mgr", "esb-w1", "esb-w2"}  # db1: nothing of these runs there
    assert doc["hosts"]["esb-w2"]["cluster"]["warnings"][0]["actual"] == f"{NET}.4"
    assert "set-proxyports" not in doc["hosts"]["esb-w1"]


def test_drift_is_listed_under_the_table_with_exit_2(planted):
    lab = planted
    edit(lab.hosts["esb-mgr"].conf("tomcat/catalina-server.xml"), '                proxyPort="443"',
         '                proxyPort="8443"')
    r = lab.fab("verify", "--steps", STEPS)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "set-proxyports  drift    -       -       -" in r.stdout
    drift = r.stdout.split("drift:\n")[1].split("warnings")[0]
    assert drift.startswith("  [esb-mgr] set-proxyports: repository/conf/tomcat/catalina-server.xml: ")
    assert "wanted '443', actual '8443'" in drift


def test_steps_and_targets_select_rows_and_columns(planted):
    lab = planted
    r = lab.fab("-H", "esb-w1", "verify", "--steps", "patch-axis2")
    assert r.returncode == 0
    assert r.stdout.splitlines()[:2] == ["step         esb-w1", "patch-axis2  ok"]
    before = lab.snapshot()
    r = lab.fab("verify", "--steps", "patch-axis2,nosuch")
    assert r.returncode == 1
    assert "unknown step 'nosuch'" in r.stderr and "known steps: create-certs" in r.stderr and "cluster" in r.stderr
    assert lab.snapshot() == before


def test_an_unreachable_host_is_failed_and_the_others_are_still_checked(planted):
    lab = planted
    w1 = lab.hosts["esb-w1"]
    lab.stop(w1)
    try:
        code, doc = fab_json(lab, "verify", "--steps", STEPS)
    finally:
        lab.start(w1)
    assert code == 1 and doc["exit"] == 1
    st = statuses(doc)
    assert st[("esb-w1", "patch-axis2")] == "failed" and st[("esb-w1", "cluster")] == "failed"
    assert "unreachable" in doc["hosts"]["esb-w1"]["patch-axis2"]["message"]
    assert st[("esb-mgr", "patch-axis2")] == st[("esb-w2", "cluster")] == "ok"
    r = lab.fab("verify", "--steps", "cluster")
    assert r.returncode == 0


# ---------------------------------------------------------------- planted consistency faults

FAULTS = {
    "domain": ("esb-w1", "axis2/axis2.xml", [("<parameter name=\"domain\">wso2.esb.domain<",
                                             "<parameter name=\"domain\">wso2.other.domain<")],
               {"esb-w1": "clustering/parameter[@name='domain'] (the same on every node"}),
    "wka-members": ("esb-mgr", "axis2/axis2.xml", [(f"<hostName>{NET}.4</hostName>", f"<hostName>{NET}.9</hostName>")],
                    {"esb-mgr": "clustering/members (the other role's nodes, hosts.toml)"}),
    "wka-real-port": ("esb-w1", "axis2/axis2.xml", [("<parameter name=\"localMemberPort\">4200<",
                                                    "<parameter name=\"localMemberPort\">4201<")],
                      {"esb-w1": "localMemberHost:localMemberPort (hosts.toml"}),
    "member-port-unique": ("esb-w2", "axis2/axis2.xml",
                           [(f"<parameter name=\"localMemberHost\">{NET}.4<", f"<parameter name=\"localMemberHost\">{NET}.3<"),
                            ("<parameter name=\"localMemberPort\">4300<", "<parameter name=\"localMemberPort\">4200<")],
                           {"esb-w2": "(unique per address)"}),
    "member-host-not-ip": ("esb-w1", "axis2/axis2.xml", [(f"<parameter name=\"localMemberHost\">{NET}.3<",
                                                         "<parameter name=\"localMemberHost\">localhost<")],
                           {"esb-w1": "clustering/parameter[@name='localMemberHost']"}),
    "two-managers": ("esb-w2", "axis2/axis2.xml", [('<property name="subDomain" value="worker"/>',
                                                   '<property name="subDomain" value="mgt"/>')],
                     {"esb-w2": "@value (exactly one manager)"}),
    "autocommit-on-worker": ("esb-w1", "carbon.xml", [("<AutoCommit>false</AutoCommit>\n        <AutoCheckout>true"
                                                       "</AutoCheckout>\n        <RepositoryType>",
                                                       "<AutoCommit>true</AutoCommit>\n        <AutoCheckout>true"
                                                       "</AutoCheckout>\n        <RepositoryType>")],
                             {"esb-w1": "DeploymentSynchronizer/AutoCommit (true on the manager only)"}),
    "readonly-false-on-worker": ("esb-w2", "registry.xml", [("<readOnly>true</readOnly>", "<readOnly>false</readOnly>")],
                                 {"esb-w2": "remoteInstance/readOnly (false on the manager only)"}),
    "cacheid": ("esb-w1", "registry.xml", [("<cacheId>regadmin@jdbc:mysql://carbondb.",
                                           "<cacheId>regadmin@jdbc:mysql://otherdb.")],
                {"esb-w1": "remoteInstance/cacheId (<user>@<REGISTRY_DB url>)"}),
    "dbconfig-jndi": ("esb-mgr", "registry.xml", [("<dataSource>jdbc/WSO2RegistryDB</dataSource>",
                                                  "<dataSource>jdbc/NoSuchDB</dataSource>")],
                      {"esb-mgr": "dbConfig[@name='sharedregistry']/dataSource (a JNDI name of master-datasources.xml)"}),
    "svnurl": ("esb-w2", "carbon.xml", [(f"<SvnUrl>svn://{NET}.2:", f"<SvnUrl>svn://{NET}.9:")],
               {"esb-w2": "DeploymentSynchronizer/SvnUrl (the same on every node"}),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_verify_finds_a_planted_consistency_fault(planted, fault):
    lab = planted
    host, rel, edits, expected = FAULTS[fault]
    for old, new in edits:
        edit(lab.hosts[host].conf(rel), old, new)
    before = lab.snapshot()
    code, doc = fab_json(lab, "verify", "--steps", "cluster")
    assert code == 2 and doc["exit"] == 2, doc
    for h, what in expected.items():
        row = doc["hosts"][h]["cluster"]
        assert row["status"] == "drift", (h, row)
        assert any(what in i["what"] for i in row["items"]), (h, row["items"])
    assert lab.snapshot() == before
    # the fixes it prints are proved: each node is judged against hosts.toml, so every printed command, run as
    # printed, changes what it claims and the findings are gone (issue 31)
    fixes = sorted({i["fix"] for h in doc["hosts"].values() for i in h.get("cluster", {}).get("items", [])
                    if i.get("fix")})
    assert fixes and not [f for f in fixes if f.split()[2] not in expected], fixes  # only the faulty nodes
    for fix in fixes:
        r = lab.fab(*fix.split()[1:])
        assert r.returncode == 0 and ": changed" in r.stdout, (fix, r.stdout + r.stderr)
    code, doc = fab_json(lab, "verify", "--steps", "cluster")
    assert code == 0, doc


# ---------------------------------------------------------------- one parse per file per host

#: `esb ARGS` in this interpreter, every parse counted: by the host's file (through the run's cache of
#: each machine) and by label (every parse of the XML layer and of nginx files, cached or not)
COUNTING = """
import atexit, collections, json, sys
from tasks.formats import nginxconf, xmldoc
from tasks.remote.readcache import ReadCache
labels, paths, stable = collections.Counter(), collections.Counter(), {}
for module in (xmldoc, nginxconf):
    def counting(data, path="<xml>", real=module.parse):
        labels[path] += 1
        return real(data, path)
    module.parse = counting
document = ReadCache.document
def by_path(self, path, data, parse, label=None):
    if (parse, path) not in stable:
        def one(d, lbl, parse=parse, path=path):
            paths[path] += 1
            return parse(d, lbl)
        stable[(parse, path)] = one
    return document(self, path, data, stable[(parse, path)], label)
ReadCache.document = by_path
out = sys.argv[1]
atexit.register(lambda: open(out, "w").write(json.dumps({"labels": labels, "paths": paths})))
from tasks.program import program
program.run(["esb", *sys.argv[2:]])
"""


def test_one_verify_parses_each_file_once_per_host(planted, tmp_path):
    """Every step, the cluster facts and the live-less checks of a whole verify read carbon.xml (five
    consumers), axis2.xml (four), ...: each node's file is parsed once, and no parse goes past the cache."""
    out = tmp_path / "parses.json"
    r = subprocess.run([sys.executable, "-c", COUNTING, str(out), "verify"], cwd=REPO, env=planted.fab_env(),
                       capture_output=True, text=True, timeout=300)
    assert out.exists(), r.stdout + r.stderr
    got = json.loads(out.read_text())
    labels = {k: n for k, n in got["labels"].items() if not k.startswith("snippets/")}  # the project's own templates
    assert set(labels) == {AXIS2, CARBON, CATALINA, MASTER, REGISTRY, USER_MGT}, labels
    assert set(got["paths"].values()) == {1}, got["paths"]  # each host's file parsed once ...
    for label, n in labels.items():  # ... and never but through the run's cache
        assert n == sum(1 for p in got["paths"] if p.endswith("/" + label)), (label, got)
    assert labels[CARBON] == labels[AXIS2] == len(ESB)
