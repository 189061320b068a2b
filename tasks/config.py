"""Load and validate hosts.toml (CONTRACT §3) into an immutable Inventory.

Every problem is reported as a ConfigError naming the file, the key and what
is wrong; nothing here touches the network or a remote host.
"""
from __future__ import annotations

import ipaddress
import os
import re
import tomllib
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

ROLES = ("manager", "worker", "db", "svn", "lb")
ESB_ROLES = ("manager", "worker")
GROUP_OF_ROLE = {"manager": "manager", "worker": "workers", "db": "db", "svn": "svn", "lb": "lb"}
HOST_KEY_POLICIES = ("strict", "accept-new")

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*\Z")
DNS_RE = re.compile(r"^(?=.{1,253}\Z)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\Z")
IDENT_RE = re.compile(r"^[A-Za-z0-9_]{1,64}\Z")
SAFE_PATH_RE = re.compile(r"^[A-Za-z0-9_./~+@:-]+\Z")


class ConfigError(Exception):
    """hosts.toml (or a value derived from it) is unusable; the message says why."""


@dataclass(frozen=True)
class Host:
    """One machine of the inventory, with every per-host field resolved."""

    name: str
    address: str
    role: str
    member_host: str
    member_port: int | None
    user: str
    port: int
    product_home: str
    key_filename: str | None
    hosts_file: str
    known_hosts: str
    host_key_policy: str
    port_offset: int
    sudo: bool
    connect_timeout: int
    state_dir: str
    java_home: str | None = None  # the JDK the node starts with (verify --live checks it is 1.7 or 1.8)

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
    domain: str
    hostname: str
    mgt_hostname: str
    port_offset: int = 0
    lb_http_port: int = 80
    lb_https_port: int = 443


@dataclass(frozen=True)
class Database:
    host: str = ""
    port: int = 3306
    tunnel: bool = False
    alias: str = "carbondb.mysql-wso2.com"
    user: str = "regadmin"
    admin_user: str = "root"
    charset: str = "latin1"
    user_db: str = "WSO2_USER_DB"
    registry_db: str = "REGISTRY_DB"
    local_db_manager: str = "REGISTRY_LOCAL1"
    local_db_worker: str = "REGISTRY_LOCAL2"
    grant_hosts: tuple[str, ...] = ()
    jdbc_params: str = "autoReconnect=true"


@dataclass(frozen=True)
class Svn:
    host: str = ""
    repo_path: str = "/var/svn/depsyncrepo"
    url: str = ""
    user: str = "repouser"


# ---------------------------------------------------------------- one declaration per key
def key(default, check=None, doc: str = ""):
    """A hosts.toml key of a declared section: its default, and a check (path, where, value) -> value that raises
    ConfigError (or normalises the value). Its type is the field's annotation; `section()` validates it all."""
    return field(default=default, metadata={"check": check, "doc": doc})


def between(lo: int, hi: int, unit: str = ""):
    """A check: an integer within [lo, hi]."""
    def check(path: Path, where: str, v: int) -> int:
        if not lo <= v <= hi:
            raise _err(path, where, f"must be between {lo} and {hi}" + (f" {unit}" if unit else ""))
        return v
    return check


def remote_path(path: Path, where: str, v: str) -> str:
    return _safe_remote_path(path, where, v)


def _key_bits(path: Path, where: str, v: int) -> int:
    if v < 2048:
        raise _err(path, where, f"{v} is refused: RSA keys below 2048 bits can be factored and current TLS clients "
                   "reject them (the guide's 1024 is obsolete); use 2048 or more")
    if v > 16384:
        raise _err(path, where, f"{v} is too large (at most 16384)")
    return v


def _days(path: Path, where: str, v: int) -> int:
    if not 1 <= v <= 36500:
        raise _err(path, where, f"{v} must be between 1 and 36500")
    return v


def _command(path: Path, where: str, v: str) -> str:
    if not (SAFE_PATH_RE.match(v) and ".." not in v.split("/")):
        raise _err(path, where, f"{v!r} must be a command name or a path (no spaces or shell characters)")
    return v


def _listen(path: Path, where: str, v: str) -> str:
    if v and not _is_ip(v):
        raise _err(path, where, f"{v!r} is not an IP address (\"\" listens on every address)")
    return v


@dataclass(frozen=True)
class Certs:
    """[certs]: where create-certs keeps the balancer's pairs, and how they are made."""

    dir: str = key("/etc/ssl/wso2", remote_path)
    key_bits: int = key(2048, _key_bits)
    days: int = key(365, _days)


@dataclass(frozen=True)
class Lb:
    """[lb] (CONTRACT §6): where configure-lb writes nginx's files and how it tests and reloads nginx."""

    conf_dir: str = key("/etc/nginx/conf.d", remote_path)
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


#: the sections declared key by key: their table name -> dataclass
DECLARED = {"certs": Certs, "lb": Lb, "security": Security, "run": Run}


def spec_of(cls) -> dict[str, type]:
    """name -> type of a declared section's keys (from the dataclass: one declaration per key)."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in fields(cls)}


def section(path: Path, name: str, table) -> object:
    """A declared section validated generically: unknown keys, types, then each key's own check."""
    cls = DECLARED[name]
    values = dict(_check_fields(path, f"[{name}]", table, spec_of(cls)))
    for f in fields(cls):
        check = f.metadata.get("check")
        if f.name in values and check is not None:
            values[f.name] = check(path, f"[{name}].{f.name}", values[f.name])
    return cls(**values)


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
    artifacts: dict[str, str]
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
        if key not in self.artifacts:
            raise ConfigError(f"{self.path}: [artifacts] {key} is not set")
        p = Path(os.path.expanduser(self.artifacts[key]))
        return p if p.is_absolute() else self.base_dir / p

    def machine_mates(self, host: Host) -> list[Host]:
        """The other entries reached as the same login on the same machine (CONTRACT §5)."""
        return [h for h in self.hosts.values() if h.machine == host.machine and h.name != host.name]



# ---------------------------------------------------------------- schema

HOST_FIELDS = {
    "address": str, "member_host": str, "role": str, "member_port": int,
    "user": str, "port": int, "product_home": str, "key_filename": str,
    "hosts_file": str, "known_hosts": str, "host_key_policy": str,
    "port_offset": int, "sudo": bool, "connect_timeout": int, "state_dir": str, "java_home": str,
}
DEFAULTS_FIELDS = {k: v for k, v in HOST_FIELDS.items() if k not in ("address",)}
SECTION_FIELDS = {
    "cluster": {"domain": str, "hostname": str, "mgt_hostname": str, "port_offset": int,
                "lb_http_port": int, "lb_https_port": int},
    "database": {"host": str, "port": int, "tunnel": bool, "alias": str, "user": str,
                 "admin_user": str, "charset": str, "user_db": str, "registry_db": str,
                 "local_db_manager": str, "local_db_worker": str, "grant_hosts": list,
                 "jdbc_params": str},
    "svn": {"host": str, "repo_path": str, "url": str, "user": str},
    **{name: spec_of(cls) for name, cls in DECLARED.items()},
}
TOP_LEVEL = {"cluster", "defaults", "hosts", "groups", "database", "svn", "certs",
             "artifacts", "hosts_map", "run", "lb", "security"}
SECRET_LIKE = re.compile(r"pass(word)?|secret|token", re.I)


def _err(path: Path, where: str, msg: str) -> ConfigError:
    return ConfigError(f"{path}: {where}: {msg}")


def _check_fields(path: Path, where: str, table: Any, spec: dict[str, type]) -> dict:
    if not isinstance(table, dict):
        raise _err(path, where, "must be a table")
    for key, value in table.items():
        if key not in spec:
            hint = " (secrets belong in the environment or .env, never in hosts.toml)" if SECRET_LIKE.search(key) else ""
            raise _err(path, f"{where}.{key}", f"unknown key; known keys: {', '.join(sorted(spec))}{hint}")
        want = spec[key]
        ok = isinstance(value, want) and not (want is int and isinstance(value, bool))
        if not ok:
            raise _err(path, f"{where}.{key}", f"must be {want.__name__}, got {type(value).__name__} {value!r}")
    return table


def _port(path: Path, where: str, value: int) -> int:
    if not 1 <= value <= 65535:
        raise _err(path, where, f"port {value} out of range 1-65535")
    return value


#: Carbon's highest default port (JMX RMIServerPort); every port plus the offset must stay below 65536
HIGHEST_DEFAULT_PORT = 11111


def _between(path: Path, where: str, value: int, lo: int, hi: int, unit: str = "") -> int:
    if not lo <= value <= hi:
        raise _err(path, where, f"{value} must be between {lo} and {hi}{' ' + unit if unit else ''}")
    return value


def _offset(path: Path, where: str, value: int) -> int:
    hi = 65535 - HIGHEST_DEFAULT_PORT
    if not 0 <= value <= hi:
        raise _err(path, where, f"{value} must be between 0 and {hi} (Carbon adds it to every port, "
                   f"the highest being {HIGHEST_DEFAULT_PORT})")
    return value


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return False


def _safe_remote_path(path: Path, where: str, value: str, absolute: bool = True) -> str:
    if not SAFE_PATH_RE.match(value):
        raise _err(path, where, f"{value!r} contains spaces or characters not allowed in a path here")
    if ".." in value.split("/"):
        raise _err(path, where, f"{value!r} contains '..'")
    if absolute and not value.startswith("/"):
        raise _err(path, where, f"{value!r} must be an absolute path")
    return value.rstrip("/") or "/"


def load_inventory(path: str | os.PathLike | None = None) -> Inventory:
    """Read and validate hosts.toml (or $ESB_HOSTS); raise ConfigError on any fault."""
    p = Path(path or os.environ.get("ESB_HOSTS") or "hosts.toml")
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{p}: file not found (set ESB_HOSTS or create ./hosts.toml)") from None
    except OSError as e:
        raise ConfigError(f"{p}: cannot read: {e.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ConfigError(f"{p}: not UTF-8 text (byte {e.start})") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{p}: malformed TOML: {e}") from None
    return parse_inventory(data, p)


def parse_inventory(data: dict, p: Path) -> Inventory:
    """Validate an already-decoded hosts.toml document."""
    for key in data:
        if key not in TOP_LEVEL:
            raise _err(p, key, f"unknown section; known sections: {', '.join(sorted(TOP_LEVEL))}")

    cl = _check_fields(p, "[cluster]", data.get("cluster", {}), SECTION_FIELDS["cluster"])
    for req in ("domain", "hostname", "mgt_hostname"):
        if req not in cl:
            raise _err(p, f"[cluster].{req}", "missing required key")
    for k in ("hostname", "mgt_hostname"):
        if not DNS_RE.match(cl[k]):
            raise _err(p, f"[cluster].{k}", f"{cl[k]!r} is not a valid host name")
    for k in ("lb_http_port", "lb_https_port"):
        if k in cl:
            _port(p, f"[cluster].{k}", cl[k])
    if not re.match(r"^[A-Za-z0-9_.-]+\Z", cl["domain"]):
        raise _err(p, "[cluster].domain", f"{cl['domain']!r} must be a non-empty name of letters, digits, '.', '_' or '-'")
    if "port_offset" in cl:
        _offset(p, "[cluster].port_offset", cl["port_offset"])
    cluster = Cluster(**cl)

    defaults = _check_fields(p, "[defaults]", data.get("defaults", {}), DEFAULTS_FIELDS)
    hosts_tbl = data.get("hosts", {})
    if not isinstance(hosts_tbl, dict) or not hosts_tbl:
        raise _err(p, "[hosts]", "at least one [hosts.NAME] table is required")

    hosts: dict[str, Host] = {}
    for name, tbl in hosts_tbl.items():
        where = f"[hosts.{name}]"
        if not NAME_RE.match(name) or name == "all":
            raise _err(p, where, f"host name {name!r} must be letters, digits, '.', '_' or '-' (and not 'all')")
        _check_fields(p, where, tbl, HOST_FIELDS)
        merged = {**defaults, **tbl}
        hosts[name] = _make_host(p, where, name, merged, cluster)

    seen: dict[tuple[str, int], str] = {}
    for h in hosts.values():
        if h.is_esb:
            key = (h.member_host, h.member_port)
            if key in seen:
                raise _err(p, f"[hosts.{h.name}].member_port",
                           f"{h.member_port} on {h.member_host} is already used by {seen[key]}")
            seen[key] = h.name
    homes: dict[tuple, str] = {}
    for h in hosts.values():
        if h.is_esb:
            key = (h.user, h.address, h.port, h.product_home)
            if key in homes:
                raise _err(p, f"[hosts.{h.name}].product_home",
                           f"{h.product_home} on {h.user}@{h.address}:{h.port} is already {homes[key]}'s; several "
                           f"nodes on one machine need a product home each (the guide's step 7 copies it)")
            homes[key] = h.name
    if len([h for h in hosts.values() if h.role == "manager"]) > 1:
        raise _err(p, "[hosts]", "more than one host has role = \"manager\"")

    groups: dict[str, tuple[str, ...]] = {}
    gtbl = data.get("groups", {})
    if not isinstance(gtbl, dict):
        raise _err(p, "[groups]", "must be a table of name = [host, ...]")
    for g, members in gtbl.items():
        where = f"[groups].{g}"
        if not NAME_RE.match(g) or g in hosts or g == "all" or g in GROUP_OF_ROLE.values():
            raise _err(p, where, f"group name {g!r} is invalid or clashes with a host, a role group or 'all'")
        if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
            raise _err(p, where, "must be a list of host names")
        for m in members:
            if m not in hosts:
                raise _err(p, where, f"unknown host {m!r}; known hosts: {', '.join(hosts)}")
        groups[g] = tuple(members)

    db = dict(_check_fields(p, "[database]", data.get("database", {}), SECTION_FIELDS["database"]))
    if "port" in db:
        _port(p, "[database].port", db["port"])
    for k in ("user_db", "registry_db", "local_db_manager", "local_db_worker", "user", "admin_user", "charset"):
        if k in db and not IDENT_RE.match(db[k]):
            raise _err(p, f"[database].{k}", f"{db[k]!r} is not a plain identifier (letters, digits, _)")
    if "alias" in db and not DNS_RE.match(db["alias"]):
        raise _err(p, "[database].alias", f"{db['alias']!r} is not a valid host name")
    if "host" in db and db["host"] not in hosts and not (_is_ip(db["host"]) or DNS_RE.match(db["host"])):
        raise _err(p, "[database].host", f"{db['host']!r} is neither a host of [hosts] nor an address")
    if "jdbc_params" in db and not re.match(r"^[A-Za-z0-9_=&.-]*\Z", db["jdbc_params"]):
        raise _err(p, "[database].jdbc_params", "only name=value pairs joined by '&'")
    if "grant_hosts" in db:
        gh = db["grant_hosts"]
        if not all(isinstance(x, str) and re.match(r"^[A-Za-z0-9_.%:-]+\Z", x) for x in gh):
            raise _err(p, "[database].grant_hosts", "must be a list of host names, addresses or patterns")
        db["grant_hosts"] = tuple(gh)
    database = Database(**db)

    sv = _check_fields(p, "[svn]", data.get("svn", {}), SECTION_FIELDS["svn"])
    if "host" in sv and sv["host"] not in hosts:
        raise _err(p, "[svn].host", f"unknown host {sv['host']!r}; known hosts: {', '.join(hosts)}")
    if "repo_path" in sv:
        _safe_remote_path(p, "[svn].repo_path", sv["repo_path"])
    if "user" in sv and not re.match(r"^[A-Za-z0-9_.-]+\Z", sv["user"]):
        raise _err(p, "[svn].user", f"{sv['user']!r} must be letters, digits, '.', '_' or '-'")
    if "url" in sv and not re.match(r"^(svn|svn\+ssh|http|https|file)://[^\s<>&\"']+\Z", sv["url"]):
        raise _err(p, "[svn].url", f"{sv['url']!r} is not an svn://, http(s):// or file:// URL")
    svn = Svn(**sv)

    certs = section(p, "certs", data.get("certs", {}))

    art = data.get("artifacts", {})
    _check_fields(p, "[artifacts]", art, {k: str for k in ("mysql_connector_jar", "svnkit_jar", "trilead_jar")})

    hm = data.get("hosts_map", {})
    if not isinstance(hm, dict):
        raise _err(p, "[hosts_map]", "must be a table of hostname = address-or-host")
    for k, v in hm.items():
        if not DNS_RE.match(k):
            raise _err(p, f"[hosts_map].{k}", "not a valid host name")
        if not isinstance(v, str) or not (v in hosts or _is_ip(v)):
            raise _err(p, f"[hosts_map].{k}", f"{v!r} must be an IP address or a host of [hosts]")

    run = section(p, "run", data.get("run", {}))
    lb = section(p, "lb", data.get("lb", {}))
    security = section(p, "security", data.get("security", {}))

    return Inventory(path=p, cluster=cluster, hosts=hosts, groups=groups, database=database,
                     svn=svn, certs=certs, artifacts=dict(art), hosts_map=dict(hm), run=run, lb=lb,
                     security=security)


def _make_host(p: Path, where: str, name: str, f: dict, cluster: Cluster) -> Host:
    for req in ("address", "role"):
        if req not in f:
            raise _err(p, f"{where}.{req}", "missing required key")
    role = f["role"]
    if role not in ROLES:
        raise _err(p, f"{where}.role", f"{role!r} is not one of {', '.join(ROLES)}")
    address = f["address"]
    if not (_is_ip(address) or DNS_RE.match(address)):
        raise _err(p, f"{where}.address", f"{address!r} is not an IP address or host name")
    member_host = f.get("member_host", address)
    # the cluster (and a hosts-file line naming this host) needs a specific IP; an lb, svn or db host
    # reached by a DNS name is fine until something needs its IP (map-hosts then says so)
    if role in ESB_ROLES or "member_host" in f or _is_ip(member_host):
        if not _is_ip(member_host):
            raise _err(p, f"{where}.member_host", f"{member_host!r} is not an IP address "
                       "(the cluster needs a specific IP, not localhost or a DNS name)")
        if ipaddress.ip_address(member_host).is_unspecified:
            raise _err(p, f"{where}.member_host", f"{member_host!r} is the unspecified address; other nodes "
                       "cannot reach it: use the host's own IP")
    member_port = f.get("member_port")
    if role in ESB_ROLES:
        if member_port is None:
            raise _err(p, f"{where}.member_port", "missing required key for a manager or worker")
        if "product_home" not in f:
            raise _err(p, f"{where}.product_home", "missing required key for a manager or worker (set it here or in [defaults])")
    if member_port is not None:
        _port(p, f"{where}.member_port", member_port)
    product_home = f.get("product_home", "/opt/wso2esb-4.9.0")
    _safe_remote_path(p, f"{where}.product_home", product_home)
    hosts_file = _safe_remote_path(p, f"{where}.hosts_file", f.get("hosts_file", "/etc/hosts"))
    policy = f.get("host_key_policy", "strict")
    if policy not in HOST_KEY_POLICIES:
        raise _err(p, f"{where}.host_key_policy", f"{policy!r} is not one of {', '.join(HOST_KEY_POLICIES)}")
    user = f.get("user", os.environ.get("USER", "root"))
    if not re.match(r"^[a-z_][a-z0-9_.-]*\Z", user):
        raise _err(p, f"{where}.user", f"{user!r} is not a valid login name")
    key = f.get("key_filename")
    return Host(
        name=name, address=address, role=role, member_host=member_host, member_port=member_port,
        user=user, port=_port(p, f"{where}.port", f.get("port", 22)),
        product_home=product_home.rstrip("/"),
        key_filename=_local_path(p, key) if key else None,
        hosts_file=hosts_file,
        known_hosts=_local_path(p, f.get("known_hosts", "~/.ssh/known_hosts")),
        host_key_policy=policy,
        port_offset=_offset(p, f"{where}.port_offset", f.get("port_offset", cluster.port_offset)),
        sudo=f.get("sudo", False),
        connect_timeout=_between(p, f"{where}.connect_timeout", f.get("connect_timeout", 10), 1, 600, "seconds"),
        state_dir=_safe_remote_path(p, f"{where}.state_dir", f.get("state_dir", ".esb-cluster"), absolute=False),
        java_home=_safe_remote_path(p, f"{where}.java_home", f["java_home"]) if "java_home" in f else None,
    )


def _local_path(p: Path, value: str) -> str:
    q = Path(os.path.expanduser(value))
    return str(q if q.is_absolute() else p.parent / q)
