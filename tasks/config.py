"""hosts.toml's sections (CONTRACT §3) and the immutable Inventory they make.

Each section is declared once, key by key (`tasks/schema.py`: type, default, check); reading the file
and the rules that span hosts (one manager, unique member ports and product homes, groups,
[hosts_map]) are tasks/hostsfile.py. Every problem is a ConfigError naming the file, the key and what
is wrong; nothing here touches the network or a remote host.
"""
from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .schema import (DNS_RE, REQUIRED, SAFE_PATH_RE, At, ConfigError, between, host_name, identifier, is_ip, key,
                     managed_dir, matches, one_of, port, remote_path)

ROLES = ("manager", "worker", "db", "svn", "lb")
ESB_ROLES = ("manager", "worker")
GROUP_OF_ROLE = {"manager": "manager", "worker": "workers", "db": "db", "svn": "svn", "lb": "lb"}
HOST_KEY_POLICIES = ("strict", "accept-new")

#: Carbon's highest default port (JMX RMIServerPort); every port plus
#: the offset must stay below 65536
HIGHEST_DEFAULT_PORT = 11111


# ---------------------------------------------------------------- checks of this file's keys

def _offset(at: At, v: int) -> int:
    hi = 65535 - HIGHEST_DEFAULT_PORT
    if not 0 <= v <= hi:
        raise at.err(f"{v} must be between 0 and {hi} (Carbon adds it to every port, "
                     f"the highest being {HIGHEST_DEFAULT_PORT})")
    return v


def _address(at: At, v: str) -> str:
    if not (is_ip(v) or DNS_RE.match(v)):
        raise at.err(f"{v!r} is not an IP address or host name")
    return v


def _member_host(at: At, v: str) -> str:
    """The cluster (and a hosts-file line naming this host) needs a specific IP; an lb, svn or db
    host reached by a DNS name is fine until something needs its IP (map-hosts then says so)."""
    if at.row.get("role") in ESB_ROLES or "member_host" in at.row or is_ip(v):
        if not is_ip(v):
            raise at.err(f"{v!r} is not an IP address (the cluster needs a specific IP, not localhost or a DNS name)")
        if ipaddress.ip_address(v).is_unspecified:
            raise at.err(f"{v!r} is the unspecified address; other nodes cannot reach it: use the host's own IP")
    return v


def _local_path(at: At, v: str) -> str:
    """A path on the machine running fab: ~ expanded, relative to hosts.toml's folder."""
    q = Path(os.path.expanduser(v))
    return str(q if q.is_absolute() else at.path.parent / q)


def _link_roots(at: At, v) -> tuple[str, ...]:
    """Folders (absolute paths on the host) where a link in the product home may lead: links the
    operator made to files kept elsewhere."""
    if not isinstance(v, tuple) or not all(isinstance(x, str) for x in v):
        raise at.err("must be a list of absolute paths")
    roots = tuple(remote_path(at, x) for x in v)
    if "/" in roots:
        raise at.err("'/' would let a link lead anywhere; name the folders your links lead to")
    return roots


def _key_bits(at: At, v: int) -> int:
    if v < 2048:
        raise at.err(f"{v} is refused: RSA keys below 2048 bits can be factored and current TLS clients "
                     "reject them (the guide's 1024 is obsolete); use 2048 or more")
    if v > 16384:
        raise at.err(f"{v} is too large (at most 16384)")
    return v


def _command(at: At, v: str) -> str:
    if not (SAFE_PATH_RE.match(v) and ".." not in v.split("/")):
        raise at.err(f"{v!r} must be a command name or a path (no spaces or shell characters)")
    return v


def _listen(at: At, v: str) -> str:
    if v and not is_ip(v):
        raise at.err(f"{v!r} is not an IP address (\"\" listens on every address)")
    return v


def _db_host(at: At, v: str) -> str:
    if v not in at.hosts and not (is_ip(v) or DNS_RE.match(v)):
        raise at.err(f"{v!r} is neither a host of [hosts] nor an address")
    return v


def _known_host(at: At, v: str) -> str:
    if v not in at.hosts:
        raise at.err(f"unknown host {v!r}; known hosts: {', '.join(at.hosts)}")
    return v


def _grant_hosts(at: At, v: tuple) -> tuple[str, ...]:
    if not all(isinstance(x, str) and re.match(r"^[A-Za-z0-9_.%:-]+\Z", x) for x in v):
        raise at.err("must be a list of host names, addresses or patterns")
    return v


_login = matches(r"^[a-z_][a-z0-9_.-]*\Z", "is not a valid login name")
_domain = matches(r"^[A-Za-z0-9_.-]+\Z", "must be a non-empty name of letters, digits, '.', '_' or '-'")


# ---------------------------------------------------------------- the sections, key by key

@dataclass(frozen=True)
class Host:
    """One [hosts.NAME] entry (any key but address may come from [defaults]), every field resolved."""

    name: str = key(REQUIRED, toml=False)
    address: str = key(REQUIRED, _address, in_defaults=False)
    role: str = key(REQUIRED, one_of(ROLES))
    member_host: str = key(REQUIRED, _member_host, "advertised to the cluster; defaults to address; must be an IP",
                           derive=lambda at: at.row["address"])
    member_port: int | None = key(None, port, required_for=ESB_ROLES)
    user: str = key(REQUIRED, _login, derive=lambda at: os.environ.get("USER", "root"))
    port: int = key(22, port)
    product_home: str = key("/opt/wso2esb-4.9.0", managed_dir(), required_for=ESB_ROLES)
    key_filename: str | None = key(None, _local_path)
    hosts_file: str = key("/etc/hosts", remote_path)
    known_hosts: str = key(REQUIRED, _local_path, derive=lambda at: "~/.ssh/known_hosts")
    host_key_policy: str = key("strict", one_of(HOST_KEY_POLICIES))
    port_offset: int = key(0, _offset, derive=lambda at: at.cluster.port_offset)
    sudo: bool = key(False)
    connect_timeout: int = key(10, between(1, 600, "seconds", quote=True))
    state_dir: str = key(".esb-cluster", managed_dir(absolute=False), "relative paths are taken from the login's home")
    java_home: str | None = key(None, remote_path, "the JDK the node starts with (verify --live checks 1.7 or 1.8)")
    link_roots: tuple[str, ...] = key((), _link_roots, "folders where links you made in the product home may lead")

    @property
    def is_esb(self) -> bool:
        """True for manager and worker nodes."""
        return self.role in ESB_ROLES

    @property
    def machine(self) -> tuple[str, str, int, str]:
        """What makes two entries one machine's (one login, one home): user, address, SSH port, state_dir."""
        return (self.user, self.address, self.port, self.state_dir)


@dataclass(frozen=True)
class Cluster:
    """[cluster]: the names and ports the whole cluster shares."""

    domain: str = key(REQUIRED, _domain)
    hostname: str = key(REQUIRED, host_name)
    mgt_hostname: str = key(REQUIRED, host_name)
    port_offset: int = key(0, _offset)
    lb_http_port: int = key(80, port)
    lb_https_port: int = key(443, port)


@dataclass(frozen=True)
class Database:
    """[database]: the MySQL server, its four databases and the application user."""

    host: str = key("", _db_host, "a host of [hosts] or an address")
    port: int = key(3306, port)
    tunnel: bool = key(False)
    alias: str = key("carbondb.mysql-wso2.com", host_name)
    user: str = key("regadmin", identifier)
    admin_user: str = key("root", identifier)
    charset: str = key("latin1", identifier)
    user_db: str = key("WSO2_USER_DB", identifier)
    registry_db: str = key("REGISTRY_DB", identifier)
    local_db_manager: str = key("REGISTRY_LOCAL1", identifier)
    local_db_worker: str = key("REGISTRY_LOCAL2", identifier)
    grant_hosts: tuple[str, ...] = key((), _grant_hosts)
    jdbc_params: str = key("autoReconnect=true", matches(r"^[A-Za-z0-9_=&.-]*\Z", "only name=value pairs joined by '&'",
                                                 quote=False))


@dataclass(frozen=True)
class Svn:
    """[svn]: the DepSync repository."""

    host: str = key("", _known_host)
    repo_path: str = key("/var/svn/depsyncrepo", managed_dir())
    url: str = key("", matches(r"^(svn|svn\+ssh|http|https|file)://[^\s<>&\"']+\Z",
                               "is not an svn://, http(s):// or file:// URL"))
    user: str = key("repouser", matches(r"^[A-Za-z0-9_.-]+\Z", "must be letters, digits, '.', '_' or '-'"))


@dataclass(frozen=True)
class Certs:
    """[certs]: where create-certs keeps the balancer's pairs, and how they are made."""

    dir: str = key("/etc/ssl/wso2", managed_dir())
    key_bits: int = key(2048, _key_bits)
    days: int = key(365, between(1, 36500, quote=True))


@dataclass(frozen=True)
class Artifacts:
    """[artifacts]: local files on the machine running fab, uploaded by the jar steps (relative to hosts.toml)."""

    mysql_connector_jar: str | None = key(None)
    svnkit_jar: str | None = key(None)
    trilead_jar: str | None = key(None)


@dataclass(frozen=True)
class Lb:
    """[lb] (CONTRACT §6): where configure-lb writes nginx's files and how it tests and reloads nginx."""

    conf_dir: str = key("/etc/nginx/conf.d", managed_dir())
    nginx_conf: str = key("/etc/nginx/nginx.conf", remote_path)
    listen: str = key("", _listen, "the address nginx listens on; \"\" = every address")
    nginx: str = key("nginx", _command)


@dataclass(frozen=True)
class Security:
    """[security] (CONTRACT §8): which hardening steps setup-* runs (verify warns about each either way)."""

    keystore: bool = key(False)
    vault: bool = key(False)
    admin_password: bool = key(False)


@dataclass(frozen=True)
class Run:
    """[run]: how a run works its hosts."""

    parallel: int = key(8, between(1, 256))
    keep_backups: int = key(5, between(1, 1000))
    lock_wait: int = key(60, between(0, 86400, "seconds"), "seconds a run waits for another run's lock on a host")
    op_timeout: int = key(30, between(1, 86400, "seconds"),
                          "seconds any remote operation may wait for an answer (a host that stopped answering)")
    start_timeout: int = key(300, between(1, 86400, "seconds"),
                             "seconds `start` waits for a node's pid, ports and `WSO2 Carbon started in` line")
    stop_timeout: int = key(120, between(1, 86400, "seconds"), "seconds `stop` waits for a node's server to end")
    drain_seconds: int = key(10, between(0, 3600, "seconds"),
                             "seconds rolling-restart leaves a worker out of the balancer before restarting it")
    sync_timeout: int = key(120, between(1, 86400, "seconds"),
                            "seconds deploy/undeploy wait for DepSync to reach every running node")


#: the sections declared key by key: their table name -> dataclass
DECLARED = {"cluster": Cluster, "database": Database, "svn": Svn, "certs": Certs, "artifacts": Artifacts,
            "run": Run, "lb": Lb, "security": Security}
#: the open tables (names chosen by the user): [defaults] takes Host's keys,
#: [hosts.NAME], [groups], [hosts_map]
OPEN_TABLES = ("defaults", "hosts", "groups", "hosts_map")
TOP_LEVEL = set(DECLARED) | set(OPEN_TABLES)


@dataclass(frozen=True)
class Inventory:
    """The whole validated hosts.toml."""

    path: Path
    cluster: Cluster
    hosts: dict[str, Host]
    groups: dict[str, tuple[str, ...]]
    database: Database
    svn: Svn
    certs: Certs
    artifacts: Artifacts
    hosts_map: dict[str, str]
    run: Run = field(default_factory=Run)
    lb: Lb = field(default_factory=Lb)
    security: Security = field(default_factory=Security)

    @property
    def base_dir(self) -> Path:
        """The folder holding hosts.toml; relative paths are taken from here."""
        return self.path.parent

    def by_role(self, role: str) -> list[Host]:
        """Hosts with this role, in file order."""
        return [h for h in self.hosts.values() if h.role == role]

    @property
    def esb_nodes(self) -> list[Host]:
        return [h for h in self.hosts.values() if h.is_esb]

    def artifact(self, key: str) -> Path:
        """Local path of an [artifacts] entry, relative to hosts.toml."""
        value = getattr(self.artifacts, key, None)
        if value is None:
            raise ConfigError(f"{self.path}: [artifacts] {key} is not set")
        p = Path(os.path.expanduser(value))
        return p if p.is_absolute() else self.base_dir / p

    def machine_mates(self, host: Host) -> list[Host]:
        """The other entries reached as the same login on the same machine (CONTRACT §5)."""
        return [h for h in self.hosts.values() if h.machine == host.machine and h.name != host.name]



def managed_roots(host: Host, inv: Inventory) -> list[str]:
    """The paths the project writes for this node: its product home, hosts file, certs.dir and, on
    the svn host, the SVN repository; on the lb host, nginx's conf_dir. Rollback acts on nothing
    else, and a link in the product home may lead only here or into the host's link_roots."""
    roots = [host.hosts_file, inv.certs.dir]
    if host.is_esb:
        roots.append(host.product_home)
    if inv.svn.repo_path and (host.role == "svn" or inv.svn.host == host.name):
        roots.append(inv.svn.repo_path)
    if host.role == "lb":
        roots.append(inv.lb.conf_dir)
    return roots


def confined_areas(host: Host, inv: Inventory) -> list[tuple[str, tuple[str, ...]]]:
    """The folders of this host whose files the project reads and writes (its product home,
    certs.dir, the SVN repository, nginx's conf_dir), each with where links in it may lead: the
    managed roots and the host's declared link_roots (tasks/remote/confine.py)."""
    roots = tuple(managed_roots(host, inv)) + host.link_roots
    return [(r, roots) for r in managed_roots(host, inv) if r != host.hosts_file]


__all__ = ["ConfigError", "Inventory", "Host", "Cluster", "Database", "Svn", "Certs", "Artifacts", "Lb", "Security",
           "Run", "DECLARED", "TOP_LEVEL", "ROLES", "ESB_ROLES", "GROUP_OF_ROLE"]
