"""set-proxyports against real sshd hosts: manager by default, one new aligned line per connector,
idempotence, verify, dry-run."""
from __future__ import annotations

import json

from lxml import etree

from tests.acceptance.util import conf_diff, edit, statuses

CATALINA = "tomcat/catalina-server.xml"


def proxy_ports(lab, host: str) -> dict[str, str | None]:
    root = etree.fromstring(lab.hosts[host].conf(CATALINA).read_bytes())
    return {c.get("port"): c.get("proxyPort") for c in root.iter("Connector")}


def test_default_target_is_the_manager_with_one_line_per_connector(lab):
    before = lab.snapshot()
    r = lab.fab("set-proxyports")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "[esb-mgr] set-proxyports: changed (2 items)" in r.stdout and "esb-w1" not in r.stdout
    assert conf_diff(lab, "esb-mgr", CATALINA) == ['+                proxyPort="80"', '+                proxyPort="443"']
    assert proxy_ports(lab, "esb-mgr") == {"9763": "80", "9443": "443"}
    worker_files = {k: v for k, v in before.items() if "/esb-w" in k}
    assert {k: v for k, v in lab.snapshot().items() if "/esb-w" in k} == worker_files


def test_lb_ports_come_from_hosts_toml(lab):
    text = lab.hosts_toml.read_text().replace("lb_http_port = 80", "lb_http_port = 8080")
    lab.write_toml(text.replace("lb_https_port = 443", "lb_https_port = 8443"))
    assert lab.fab("set-proxyports").returncode == 0
    assert proxy_ports(lab, "esb-mgr") == {"9763": "8080", "9443": "8443"}


def test_second_run_ok_and_rewrites_nothing(lab):
    assert lab.fab("set-proxyports").returncode == 0
    before = lab.snapshot()
    r = lab.fab("set-proxyports")
    assert r.returncode == 0 and "[esb-mgr] set-proxyports: ok" in r.stdout, r.stdout
    assert lab.snapshot() == before


def test_verify_then_hand_edit_exits_2(lab):
    assert lab.fab("set-proxyports").returncode == 0
    assert lab.fab("set-proxyports", "--verify").returncode == 0
    edit(lab.hosts["esb-mgr"].conf(CATALINA), '    proxyPort="443"', '    proxyPort="8443"')
    before = lab.snapshot()
    r = lab.fab("set-proxyports", "--verify")
    assert r.returncode == 2
    assert ("[esb-mgr] set-proxyports: drift (1 item)\n    repository/conf/tomcat/catalina-server.xml: "
            "Connector[@port='9443']/@proxyPort: wanted '443', actual '8443'") in r.stdout
    j = lab.fab("set-proxyports", "--verify", "--json")
    assert j.returncode == 2 and statuses(j, "set-proxyports") == {"esb-mgr": "drift"}
    assert json.loads(j.stdout)["hosts"]["esb-mgr"]["set-proxyports"]["items"] == [
        {"file": "repository/conf/tomcat/catalina-server.xml", "what": "Connector[@port='9443']/@proxyPort",
         "wanted": "443", "actual": "8443"}]
    assert lab.snapshot() == before


def test_dry_run_prints_diff_and_writes_nothing(lab):
    before = lab.snapshot()
    r = lab.fab("set-proxyports", "--dry-run")
    assert r.returncode == 0, r.stderr
    assert ('                 port="9763"\n+                proxyPort="80"\n                 redirectPort="9443" \n'
            in r.stdout)
    assert "+                proxyPort=\"443\"" in r.stdout and "@@" in r.stdout
    assert lab.snapshot() == before


def test_explicit_workers_target(lab):
    r = lab.fab("-H", "workers", "set-proxyports", "--json")
    assert r.returncode == 0
    assert statuses(r, "set-proxyports") == {"esb-w1": "changed", "esb-w2": "changed"}
    assert proxy_ports(lab, "esb-mgr") == {"9763": None, "9443": None}
