"""hosts.toml validation (CONTRACT §3): every rule of tasks/config.py names the file, the key and the fault."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tasks.config import ConfigError
from tests.unit.helpers import base_data, inventory

FILE = "/etc/esb/hosts.toml"


def hosts(d: dict) -> dict:
    return d["hosts"]


def set_in(*path, value):
    """A mutator that sets data[path...] = value."""
    def mutate(d):
        for k in path[:-1]:
            d = d.setdefault(k, {})
        d[path[-1]] = value
    return mutate


def delete(*path):
    def mutate(d):
        for k in path[:-1]:
            d = d[k]
        del d[path[-1]]
    return mutate


BAD = [
    # (id, mutator, expected fragment after "FILE: ")
    ("unknown-section", set_in("extra", value={}), "extra: unknown section; known sections: artifacts, certs"),
    ("cluster-not-table", set_in("cluster", value=1), "[cluster]: must be a table"),
    ("cluster-unknown-key", set_in("cluster", "colour", value="x"), "[cluster].colour: unknown key; known keys: domain"),
    ("secret-in-toml", set_in("svn", "password", value="x"),
     "[svn].password: unknown key; known keys: host, repo_path, url, user (secrets belong in the environment or .env"),
    ("wrong-type", set_in("cluster", "port_offset", value="0"), "[cluster].port_offset: must be int, got str '0'"),
    ("bool-is-not-int", set_in("hosts", "esb-w1", "member_port", value=True),
     "[hosts.esb-w1].member_port: must be int, got bool True"),
    ("missing-domain", delete("cluster", "domain"), "[cluster].domain: missing required key"),
    ("missing-hostname", delete("cluster", "hostname"), "[cluster].hostname: missing required key"),
    ("missing-mgt-hostname", delete("cluster", "mgt_hostname"), "[cluster].mgt_hostname: missing required key"),
    ("bad-hostname", set_in("cluster", "hostname", value="esb wso2"), "[cluster].hostname: 'esb wso2' is not a valid host name"),
    ("bad-mgt-hostname", set_in("cluster", "mgt_hostname", value="-x-"), "[cluster].mgt_hostname: '-x-' is not a valid host name"),
    ("lb-http-port-range", set_in("cluster", "lb_http_port", value=0), "[cluster].lb_http_port: port 0 out of range 1-65535"),
    ("lb-https-port-range", set_in("cluster", "lb_https_port", value=70000), "[cluster].lb_https_port: port 70000 out of range"),
    ("defaults-unknown-key", set_in("defaults", "address", value="1.2.3.4"), "[defaults].address: unknown key"),
    ("no-hosts", delete("hosts"), "[hosts]: at least one [hosts.NAME] table is required"),
    ("empty-hosts", set_in("hosts", value={}), "[hosts]: at least one [hosts.NAME] table is required"),
    ("host-name-all", set_in("hosts", "all", value={"address": "10.0.0.1", "role": "db"}),
     "[hosts.all]: host name 'all' must be letters"),
    ("host-name-chars", set_in("hosts", "a b", value={"address": "10.0.0.1", "role": "db"}), "[hosts.a b]: host name 'a b'"),
    ("host-unknown-key", set_in("hosts", "db1", "colour", value="x"), "[hosts.db1].colour: unknown key"),
    ("host-missing-address", delete("hosts", "db1", "address"), "[hosts.db1].address: missing required key"),
    ("host-missing-role", delete("hosts", "db1", "role"), "[hosts.db1].role: missing required key"),
    ("bad-role", set_in("hosts", "db1", "role", value="dbserver"), "[hosts.db1].role: 'dbserver' is not one of manager, worker, db, svn, lb"),
    ("bad-address", set_in("hosts", "db1", "address", value="no such host!"), "[hosts.db1].address: 'no such host!' is not an IP address or host name"),
    ("member-host-localhost", set_in("hosts", "esb-w1", "member_host", value="localhost"),
     "[hosts.esb-w1].member_host: 'localhost' is not an IP address (the cluster needs a specific IP"),
    ("member-host-default-dns", set_in("hosts", "esb-w1", "address", value="w1.example.com"),
     "[hosts.esb-w1].member_host: 'w1.example.com' is not an IP address"),
    ("member-host-unspecified", set_in("hosts", "esb-w1", "member_host", value="0.0.0.0"),
     "[hosts.esb-w1].member_host: '0.0.0.0' is the unspecified address; other nodes cannot reach it"),
    ("member-host-dns-on-lb", set_in("hosts", "db1", "member_host", value="db.example.com"),
     "[hosts.db1].member_host: 'db.example.com' is not an IP address"),
    ("domain-empty", set_in("cluster", "domain", value=""), "[cluster].domain: '' must be a non-empty name"),
    ("domain-space", set_in("cluster", "domain", value="wso2 esb"), "[cluster].domain: 'wso2 esb' must be a non-empty name"),
    ("cluster-port-offset-negative", set_in("cluster", "port_offset", value=-5),
     "[cluster].port_offset: -5 must be between 0 and 54424 (Carbon adds it to every port"),
    ("host-port-offset-huge", set_in("hosts", "esb-w1", "port_offset", value=70000),
     "[hosts.esb-w1].port_offset: 70000 must be between 0 and 54424"),
    ("connect-timeout-zero", set_in("defaults", "connect_timeout", value=0),
     "[hosts.esb-mgr].connect_timeout: 0 must be between 1 and 600 seconds"),
    ("esb-missing-member-port", delete("hosts", "esb-w2", "member_port"),
     "[hosts.esb-w2].member_port: missing required key for a manager or worker"),
    ("esb-missing-product-home", delete("defaults", "product_home"),
     "[hosts.esb-mgr].product_home: missing required key for a manager or worker (set it here or in [defaults])"),
    ("member-port-range", set_in("hosts", "esb-w1", "member_port", value=65536), "[hosts.esb-w1].member_port: port 65536 out of range"),
    ("two-managers", set_in("hosts", "esb-w1", "role", value="manager"), "[hosts]: more than one host has role = \"manager\""),
    ("product-home-relative", set_in("hosts", "esb-w1", "product_home", value="opt/esb"),
     "[hosts.esb-w1].product_home: 'opt/esb' must be an absolute path"),
    ("product-home-space", set_in("hosts", "esb-w1", "product_home", value="/opt/my esb"),
     "[hosts.esb-w1].product_home: '/opt/my esb' contains spaces or characters not allowed"),
    ("product-home-dotdot", set_in("hosts", "esb-w1", "product_home", value="/opt/../etc"),
     "[hosts.esb-w1].product_home: '/opt/../etc' contains '..'"),
    ("hosts-file-relative", set_in("defaults", "hosts_file", value="hosts"), "[hosts.esb-mgr].hosts_file: 'hosts' must be an absolute path"),
    ("host-key-policy", set_in("defaults", "host_key_policy", value="yes"), "[hosts.esb-mgr].host_key_policy: 'yes' is not one of strict, accept-new"),
    ("bad-user", set_in("hosts", "db1", "user", value="Root User"), "[hosts.db1].user: 'Root User' is not a valid login name"),
    ("ssh-port-range", set_in("hosts", "db1", "port", value=0), "[hosts.db1].port: port 0 out of range"),
    ("state-dir-space", set_in("hosts", "db1", "state_dir", value="my state"), "[hosts.db1].state_dir: 'my state' contains spaces"),
    ("groups-not-table", set_in("groups", value=["esb-w1"]), "[groups]: must be a table of name = [host, ...]"),
    ("group-clashes-host", set_in("groups", "esb-w1", value=["esb-w1"]), "[groups].esb-w1: group name 'esb-w1' is invalid or clashes"),
    ("group-clashes-role", set_in("groups", "workers", value=["esb-w1"]), "[groups].workers: group name 'workers' is invalid or clashes"),
    ("group-all", set_in("groups", "all", value=["esb-w1"]), "[groups].all: group name 'all'"),
    ("group-not-list", set_in("groups", "canary", value="esb-w1"), "[groups].canary: must be a list of host names"),
    ("group-unknown-host", set_in("groups", "canary", value=["esb-w9"]), "[groups].canary: unknown host 'esb-w9'; known hosts: esb-mgr, esb-w1"),
    ("db-port-range", set_in("database", "port", value=99999), "[database].port: port 99999 out of range"),
    ("db-identifier", set_in("database", "user_db", value="USER-DB; DROP"), "[database].user_db: 'USER-DB; DROP' is not a plain identifier"),
    ("db-user-identifier", set_in("database", "user", value="reg admin"), "[database].user: 'reg admin' is not a plain identifier"),
    ("db-charset", set_in("database", "charset", value="utf8'"), "[database].charset: \"utf8'\" is not a plain identifier"),
    ("db-alias", set_in("database", "alias", value="carbon db"), "[database].alias: 'carbon db' is not a valid host name"),
    ("db-host", set_in("database", "host", value="db 1"), "[database].host: 'db 1' is neither a host of [hosts] nor an address"),
    ("db-jdbc-params", set_in("database", "jdbc_params", value="a=1;b=2"), "[database].jdbc_params: only name=value pairs joined by '&'"),
    ("db-grant-hosts", set_in("database", "grant_hosts", value=["10.0.0.%", "x y"]), "[database].grant_hosts: must be a list"),
    ("svn-host", set_in("svn", "host", value="svn9"), "[svn].host: unknown host 'svn9'; known hosts: esb-mgr"),
    ("svn-repo-path", set_in("svn", "repo_path", value="var/svn"), "[svn].repo_path: 'var/svn' must be an absolute path"),
    ("svn-user", set_in("svn", "user", value="repo user"), "[svn].user: 'repo user' must be letters, digits"),
    ("svn-url", set_in("svn", "url", value="ftp://x/repo"), "[svn].url: 'ftp://x/repo' is not an svn://, http(s):// or file:// URL"),
    ("svn-url-markup", set_in("svn", "url", value="svn://x/<repo>"), "[svn].url: 'svn://x/<repo>' is not"),
    ("certs-dir", set_in("certs", "dir", value="/etc/ssl/my certs"), "[certs].dir: '/etc/ssl/my certs' contains spaces"),
    ("certs-days", set_in("certs", "days", value=0), "[certs].days: 0 must be between 1 and 36500"),
    ("certs-key-bits-type", set_in("certs", "key_bits", value="2048"), "[certs].key_bits: must be int, got str"),
    ("certs-key-bits-weak", set_in("certs", "key_bits", value=1024), "[certs].key_bits: 1024 is refused: RSA keys below 2048"),
    ("certs-key-bits-huge", set_in("certs", "key_bits", value=32768), "[certs].key_bits: 32768 is too large (at most 16384)"),
    ("artifacts-unknown", set_in("artifacts", "driver", value="x.jar"), "[artifacts].driver: unknown key; known keys: mysql_connector_jar"),
    ("hosts-map-not-table", set_in("hosts_map", value=["x"]), "[hosts_map]: must be a table of hostname = address-or-host"),
    ("hosts-map-key", set_in("hosts_map", "bad name", value="10.0.0.1"), "[hosts_map].bad name: not a valid host name"),
    ("hosts-map-value", set_in("hosts_map", "esb.wso2.com", value="nowhere"),
     "[hosts_map].esb.wso2.com: 'nowhere' must be an IP address or a host of [hosts]"),
    # an IPv6 scope id takes any text in Python's ipaddress, line breaks included: refused wherever an IP lands
    ("member-host-scope-newline", set_in("hosts", "esb-w1", "member_host", value="fe80::1%a\n6.6.6.6\tlogin.bank.example"),
     "[hosts.esb-w1].member_host: 'fe80::1%a\\n6.6.6.6\\tlogin.bank.example' is not an IP address"),
    ("member-host-scope", set_in("hosts", "esb-w1", "member_host", value="fe80::1%eth0"),
     "[hosts.esb-w1].member_host: 'fe80::1%eth0' is not an IP address"),
    ("address-scope", set_in("hosts", "db1", "address", value="fe80::1%a}server{"),
     "[hosts.db1].address: 'fe80::1%a}server{' is not an IP address or host name"),
    ("hosts-map-scope", set_in("hosts_map", "esb.wso2.com", value="fe80::1%a\n6.6.6.6 bank"),
     "[hosts_map].esb.wso2.com: 'fe80::1%a\\n6.6.6.6 bank' must be an IP address or a host of [hosts]"),
    ("lb-listen-scope", set_in("lb", "listen", value="fe80::1%a; } server { listen 80"),
     "[lb].listen: 'fe80::1%a; } server { listen 80' is not an IP address"),
    ("db-host-scope", set_in("database", "host", value="fe80::1%x'"),
     "[database].host: \"fe80::1%x'\" is neither a host of [hosts] nor an address"),
    ("host-named-like-a-group", set_in("hosts", "workers", value={"address": "10.0.0.9", "role": "db"}),
     "[hosts.workers]: host name 'workers' is the name of a group every role makes"),
    ("host-named-manager", set_in("hosts", "manager", value={"address": "10.0.0.9", "role": "svn"}),
     "[hosts.manager]: host name 'manager' is the name of a group"),
    ("same-offset-one-machine", lambda d: (set_in("hosts", "esb-w2", "address", value="192.168.1.13")(d),
                                           set_in("hosts", "esb-w2", "product_home", value="/opt/esb2")(d)),
     "[hosts.esb-w2].port_offset: 0 on 192.168.1.13 is already esb-w1's: two nodes on one machine need a port_offset"),
    # a folder the project writes into, backs up and rolls back is never the root or a system folder itself
    ("product-home-root", set_in("hosts", "esb-w1", "product_home", value="/"),
     "[hosts.esb-w1].product_home: '/' is the root folder: the project writes, backs up and rolls back files in "
     "this folder; name a folder of its own inside it (such as /opt/wso2esb-4.9.0)"),
    ("product-home-opt", set_in("hosts", "esb-w1", "product_home", value="/opt"),
     "[hosts.esb-w1].product_home: '/opt' is a system folder itself"),
    ("product-home-opt-slash", set_in("hosts", "esb-w1", "product_home", value="/opt/"),
     "[hosts.esb-w1].product_home: '/opt' is a system folder itself"),
    ("product-home-double-slash", set_in("hosts", "esb-w1", "product_home", value="//opt/wso2esb"),
     "[hosts.esb-w1].product_home: '//opt/wso2esb' is not a normalised path ('//', '.' or a trailing '/.'): "
     "write it as '/opt/wso2esb'"),
    ("product-home-inner-double-slash", set_in("hosts", "esb-w1", "product_home", value="/opt//wso2esb"),
     "[hosts.esb-w1].product_home: '/opt//wso2esb' is not a normalised path"),
    ("product-home-dot", set_in("hosts", "esb-w1", "product_home", value="/opt/./wso2esb"),
     "[hosts.esb-w1].product_home: '/opt/./wso2esb' is not a normalised path"),
    ("product-home-trailing-dot", set_in("hosts", "esb-w1", "product_home", value="/etc/."),
     "[hosts.esb-w1].product_home: '/etc/.' is not a normalised path"),
    ("product-home-dotdot-end", set_in("hosts", "esb-w1", "product_home", value="/opt/esb/.."),
     "[hosts.esb-w1].product_home: '/opt/esb/..' contains '..'"),
    ("product-home-newline", set_in("hosts", "esb-w1", "product_home", value="/opt/esb\n/etc"),
     "[hosts.esb-w1].product_home: '/opt/esb\\n/etc' holds a control character"),
    ("product-home-nul", set_in("hosts", "esb-w1", "product_home", value="/opt/esb\0"),
     "[hosts.esb-w1].product_home: '/opt/esb\\x00' holds a control character"),
    ("product-home-escape", set_in("hosts", "esb-w1", "product_home", value="/opt/esb\x1b[2J"),
     "[hosts.esb-w1].product_home: '/opt/esb\\x1b[2J' holds a control character"),
    ("certs-dir-etc", set_in("certs", "dir", value="/etc"),
     "[certs].dir: '/etc' is a system folder itself: the project writes, backs up and rolls back files in this "
     "folder; name a folder of its own inside it (such as /etc/ssl/wso2)"),
    ("certs-dir-root", set_in("certs", "dir", value="/"), "[certs].dir: '/' is the root folder"),
    ("state-dir-option", set_in("hosts", "db1", "state_dir", value="-rf"),
     "[hosts.db1].state_dir: '-rf' begins with '-': a command would take it for an option"),
    ("state-dir-home-itself", set_in("hosts", "db1", "state_dir", value="."),
     "[hosts.db1].state_dir: '.' is the login's home itself"),
    ("state-dir-dot-slash", set_in("hosts", "db1", "state_dir", value="./state"),
     "[hosts.db1].state_dir: './state' is not a normalised path ('//', '.' or a trailing '/.'): write it as 'state'"),
    ("state-dir-tilde", set_in("hosts", "db1", "state_dir", value="~/state"),
     "[hosts.db1].state_dir: '~/state' begins with '~'"),
    ("state-dir-root-home", set_in("defaults", "state_dir", value="/root"),
     "[hosts.esb-mgr].state_dir: '/root' is a system folder itself"),
    ("state-dir-tmp", set_in("hosts", "db1", "state_dir", value="/tmp"), "[hosts.db1].state_dir: '/tmp' is a system folder"),
    ("svn-repo-path-var", set_in("svn", "repo_path", value="/var"), "[svn].repo_path: '/var' is a system folder itself"),
    ("svn-repo-path-option", set_in("svn", "repo_path", value="/var//svn"), "[svn].repo_path: '/var//svn' is not a normalised"),
    ("lb-conf-dir-etc", set_in("lb", "conf_dir", value="/etc"), "[lb].conf_dir: '/etc' is a system folder itself"),
    ("lb-conf-dir-usr", set_in("lb", "conf_dir", value="/usr/"), "[lb].conf_dir: '/usr' is a system folder itself"),
    ("run-parallel", set_in("run", "parallel", value=0), "[run].parallel: must be between 1 and 256"),
    ("run-keep-backups", set_in("run", "keep_backups", value=0), "[run].keep_backups: must be between 1 and 1000"),
    ("run-lock-wait", set_in("run", "lock_wait", value=-1), "[run].lock_wait: must be between 0 and 86400 seconds"),
    ("run-unknown", set_in("run", "threads", value=2), "[run].threads: unknown key"),
]


@pytest.mark.parametrize("mutate,expected", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_value_names_file_key_and_fault(mutate, expected):
    d = base_data()
    mutate(d)
    with pytest.raises(ConfigError) as e:
        inventory(d, FILE)
    msg = str(e.value)
    assert msg.startswith(f"{FILE}: ") and expected in msg, msg


@pytest.mark.parametrize("system", ["/", "/etc", "/usr", "/bin", "/sbin", "/lib", "/lib64", "/boot", "/dev", "/proc",
                                    "/sys", "/var", "/root", "/home", "/tmp", "/run", "/opt"])
@pytest.mark.parametrize("path", [("hosts", "esb-w1", "product_home"), ("hosts", "esb-w1", "state_dir"),
                                  ("certs", "dir"), ("svn", "repo_path"), ("lb", "conf_dir")],
                         ids=lambda p: ".".join(p))
def test_no_managed_folder_is_a_system_folder_itself(path, system):
    d = base_data()
    set_in(*path, value=system)(d)
    with pytest.raises(ConfigError, match=rf"\[?{path[-2] if path[0] != 'hosts' else 'hosts.esb-w1'}\]\.{path[-1]}: "
                                          rf"'{system}' is (the root folder|a system folder itself)"):
        inventory(d, FILE)


def test_folders_inside_system_folders_stay_allowed():
    d = base_data()
    set_in("hosts", "esb-w1", "product_home", value="/opt/wso2esb-4.9.0")(d)
    set_in("hosts", "esb-w1", "state_dir", value="/var/lib/esb-cluster")(d)
    set_in("certs", "dir", value="/etc/ssl/wso2")(d)
    set_in("svn", "repo_path", value="/var/svn/depsyncrepo")(d)
    set_in("lb", "conf_dir", value="/etc/nginx/conf.d")(d)
    set_in("defaults", "hosts_file", value="/etc/hosts")(d)
    inv = inventory(d, FILE)
    assert (inv.hosts["esb-w1"].product_home, inv.hosts["esb-w1"].state_dir, inv.certs.dir, inv.svn.repo_path,
            inv.lb.conf_dir, inv.hosts["esb-w1"].hosts_file) == (
        "/opt/wso2esb-4.9.0", "/var/lib/esb-cluster", "/etc/ssl/wso2", "/var/svn/depsyncrepo", "/etc/nginx/conf.d",
        "/etc/hosts")


# ---------------------------------------------------------------- resolved values

def test_defaults_and_derived_values():
    d = base_data()
    d["defaults"].update(key_filename="keys/id", known_hosts="~/kh", port_offset=1)
    d["hosts"]["esb-w1"].update(member_host="10.9.9.9", product_home="/srv/esb/", port_offset=3)
    d["artifacts"] = {"svnkit_jar": "artifacts/svnkit.jar", "trilead_jar": "/abs/trilead.jar"}
    inv = inventory(d, "/etc/esb/hosts.toml")
    mgr, w1, db = inv.hosts["esb-mgr"], inv.hosts["esb-w1"], inv.hosts["db1"]
    assert (mgr.member_host, mgr.user, mgr.port, mgr.product_home) == ("192.168.1.12", "wso2", 22, "/opt/wso2esb-4.9.0")
    assert (w1.member_host, w1.product_home, w1.port_offset, mgr.port_offset) == ("10.9.9.9", "/srv/esb", 3, 1)
    assert mgr.key_filename == "/etc/esb/keys/id"
    assert mgr.known_hosts == os.path.expanduser("~/kh")
    assert (mgr.hosts_file, mgr.host_key_policy, mgr.sudo, mgr.connect_timeout, mgr.state_dir) == \
        ("/etc/hosts", "strict", False, 10, ".esb-cluster")
    assert db.member_port is None and not db.is_esb
    assert [h.name for h in inv.esb_nodes] == ["esb-mgr", "esb-w1", "esb-w2"]
    assert inv.artifact("svnkit_jar") == Path("/etc/esb/artifacts/svnkit.jar")
    assert inv.artifact("trilead_jar") == Path("/abs/trilead.jar")
    with pytest.raises(ConfigError, match=r"\[artifacts\] mysql_connector_jar is not set"):
        inv.artifact("mysql_connector_jar")
    assert inv.groups == {"canary": ("esb-w1",)}
    assert (inv.cluster.lb_http_port, inv.cluster.lb_https_port) == (80, 443)
    assert inv.database.host == "db1" and inv.svn.url == "svn://192.168.1.12/depsyncrepo/"


def test_a_non_esb_host_may_be_reached_by_a_dns_name():
    """An lb, svn or db host needs no cluster IP: its address may be a DNS name (member_host stays that name)."""
    d = base_data()
    d["hosts"]["lb1"] = {"address": "lb.example.com", "role": "lb"}
    d["hosts"]["db1"]["address"] = "db1.example.com"
    inv = inventory(d)
    assert (inv.hosts["lb1"].address, inv.hosts["db1"].member_host) == ("lb.example.com", "db1.example.com")


def test_cluster_port_offset_is_the_default_of_every_host():
    d = base_data()
    d["cluster"]["port_offset"] = 5
    assert {h.port_offset for h in inventory(d).hosts.values()} == {5}


#: every checked string value of hosts.toml (issue 9: a check holds for the whole value, not up to a line break)
WHOLE_VALUE_KEYS = [
    ("cluster", "hostname"), ("cluster", "mgt_hostname"), ("cluster", "domain"),
    ("hosts", "esb-mgr", "address"), ("hosts", "esb-mgr", "member_host"), ("hosts", "esb-mgr", "user"),
    ("hosts", "esb-mgr", "product_home"), ("hosts", "esb-mgr", "hosts_file"), ("hosts", "esb-mgr", "state_dir"),
    ("database", "alias"), ("database", "user"), ("database", "admin_user"), ("database", "charset"),
    ("database", "user_db"), ("database", "registry_db"), ("database", "local_db_manager"),
    ("database", "local_db_worker"), ("database", "jdbc_params"), ("database", "host"),
    ("svn", "repo_path"), ("svn", "url"), ("svn", "user"), ("certs", "dir"),
]
GOOD = {"hostname": "esb.wso2.com", "mgt_hostname": "mgt.esb.wso2.com", "domain": "wso2.esb.domain",
        "address": "192.168.1.12", "member_host": "192.168.1.12", "user": "wso2",
        "product_home": "/opt/wso2esb-4.9.0", "hosts_file": "/etc/hosts", "state_dir": ".esb-cluster",
        "alias": "carbondb.mysql-wso2.com", "admin_user": "root", "charset": "latin1", "user_db": "WSO2_USER_DB",
        "registry_db": "REGISTRY_DB", "local_db_manager": "REGISTRY_LOCAL1", "local_db_worker": "REGISTRY_LOCAL2",
        "jdbc_params": "autoReconnect=true", "host": "db1", "repo_path": "/var/svn/depsyncrepo",
        "url": "svn://192.168.1.12/depsyncrepo/", "dir": "/etc/ssl/wso2"}


@pytest.mark.parametrize("path", WHOLE_VALUE_KEYS, ids=[".".join(p) for p in WHOLE_VALUE_KEYS])
@pytest.mark.parametrize("tail", ["\n", "\nx", " x", "\r", "\t"], ids=["newline", "newline-more", "space", "cr", "tab"])
def test_a_check_holds_for_the_whole_value(path, tail):
    good = GOOD[path[-1]]
    d = base_data()
    set_in(*path, value=good)(d)
    inventory(d, FILE)  # the value itself is fine
    set_in(*path, value=good + tail)(d)
    with pytest.raises(ConfigError) as e:
        inventory(d, FILE)
    assert str(e.value).startswith(f"{FILE}: "), e.value


def test_every_section_is_declared_key_by_key():
    """Each section (and a host entry) is a dataclass whose fields are its keys (type, default, check): the schema
    tables and the validation derive from it, and the known sections are the declared ones plus the open tables."""
    from dataclasses import fields
    from tasks.config import DECLARED, OPEN_TABLES, TOP_LEVEL, Host
    from tasks.schema import REQUIRED, toml_keys
    assert TOP_LEVEL == set(DECLARED) | set(OPEN_TABLES)
    for cls in [*DECLARED.values(), Host]:
        for f in fields(cls):
            assert "check" in f.metadata, f"{cls.__name__}.{f.name} is not declared with key()"
        optional = {f.name: f.default for f in fields(cls) if f.default is not REQUIRED}
        if len(optional) == len(fields(cls)):
            assert cls() == cls(**optional)  # every key has its default
    assert "address" in toml_keys(Host) and "address" not in toml_keys(Host, defaults=True)
    assert "name" not in toml_keys(Host)
    d = base_data()
    d["run"] = {"op_timeout": 0}
    with pytest.raises(ConfigError, match=r"\[run\]\.op_timeout: must be between 1 and 86400 seconds"):
        inventory(d)
    d = base_data()
    d["lb"] = {"conf_dir": "/etc/nginx/conf.d/"}
    assert inventory(d).lb.conf_dir == "/etc/nginx/conf.d"  # a check may normalise


def _wrong_value(t: type):
    return {str: 7, int: "7", bool: "yes", list: "x"}[t]


def _every_key():
    from tasks.config import DECLARED, Host
    from tasks.schema import toml_keys
    for name, cls in DECLARED.items():
        for k, t in toml_keys(cls).items():
            yield (name, k), t
    for k, t in toml_keys(Host).items():
        yield ("hosts", "esb-w1", k), t


EVERY_KEY = list(_every_key())


@pytest.mark.parametrize("path,t", EVERY_KEY, ids=[".".join(p) for p, _ in EVERY_KEY])
def test_every_key_refuses_a_value_of_another_type(path, t):
    """The generic type check covers every declared key, nothing changed by hand per key."""
    d = base_data()
    set_in(*path, value=_wrong_value(t))(d)
    where = f"[{path[0]}]" if len(path) == 2 else f"[hosts.{path[1]}]"
    with pytest.raises(ConfigError) as e:
        inventory(d, FILE)
    assert str(e.value).startswith(f"{FILE}: {where}.{path[-1]}: must be {t.__name__}, got "), e.value


def test_a_host_key_in_defaults_is_checked_for_each_host():
    d = base_data()
    d["defaults"]["java_home"] = "jre"
    with pytest.raises(ConfigError, match=r"\[hosts\.esb-mgr\]\.java_home: 'jre' must be an absolute path"):
        inventory(d, FILE)
    d["defaults"]["java_home"] = "/usr/lib/jvm/java-8/"
    assert {h.java_home for h in inventory(d).hosts.values()} == {"/usr/lib/jvm/java-8"}
