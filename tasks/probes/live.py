"""`fab verify --live` (CONTRACT §7): prove from every ESB node that the
cluster its files describe can work.

Every check runs from the node's own network position over its existing SSH connection (direct-tcpip
channels; nothing installed or run on the node but `java -version`), with the values the node's
files actually hold (tasks/probes/facts.py), never hosts.toml's:

- db: each MySQL datasource of master-datasources.xml: the URL's host resolved through the node's
  hosts file (as the JVM will), a connection from the node, login with the datasource's user and
  password, the database usable, the product's tables present;
- driver: each datasource's driverClassName is a class inside a jar of repository/components/lib
  (the jar's zip directory, read from its end; file names are not trusted);
- svn: with DepSync enabled, the svn protocol to SvnUrl from the node: greeting, the repository
  found, CRAM-MD5 login with SvnUser/SvnPassword; the SVNKit bundle in dropins, trilead in lib;
- depsync: a worker's DepSync copy (wc.db) at the repository's youngest revision, or behind it for no
  longer than one DepSync period (probes/depsync.py);
- java: the JDK the node starts with (host field java_home, else `java`
  on the login PATH) is 1.7 or 1.8, judged as `start` judges it (probes/jdk.py);
- members: each WKA member's host:port from the node: accepted; refused (a warning:
  servers stopped); no answer (drift);
- lb: with an lb host, HTTP and HTTPS requests through it for hostname and mgt_hostname get a
  backend's answer (nginx's own 502/504 is drift);
- server: the node's server as a desired state (probes/restart.py): started by fab and not stopped
  by it (or a stale pid file), it must run; no password-tmp left behind; each with its fix.

What it parses is the formats' (hosts file, JDBC URL, zip directory: tasks/formats/) and the rules'
(java version); the svn and HTTP clients are svnwire.py and http.py.
"""
from __future__ import annotations

import functools
import posixpath
import threading
from concurrent.futures import ThreadPoolExecutor

from ..formats import zipdir
from ..formats.hostsfile import resolve as resolve_in_hosts
from ..formats.jdbcurl import mysql_target
from ..schema import is_ip as _is_ip
from .facts import NodeFacts, read_facts
from .server import ServerProbe
from .restart import health_items
from .startrecord import read_record
from .http import http_through
from .svndav import svn_reachable
from .depsync import node_trust, worker_lag
from ..formats import carbonlog as logs
from ..remote.mysql import DbError, Route, query
from ..engine.plan import Item
from ..remote import HostFault, RemoteError
from ..engine.report import Status, StepResult
from ..secrets import redact
from ..engine.context import StepContext, StepError
from ..rules import CIPHER_TEXT
from .jdk import WANTED, judge_java
from ..rules import DROPINS, LIB, jar_family
from .vaultvalues import resolved_values

LIVE = "live"
CHECKS = ("db", "driver", "svn", "depsync", "java", "members", "lb", "server")
#: a table each kind of database holds once the product's dbscripts are loaded
PRODUCT_TABLES = ("REG_RESOURCE", "UM_USER")


# ---------------------------------------------------------------- I/O over the node's channels

















# ---------------------------------------------------------------- the checks of one node

class Live:
    """The live checks of one ESB node; each adds drift items (or warnings) naming the check and the cause."""

    def __init__(self, ctx: StepContext, facts: NodeFacts):
        self.ctx, self.f = ctx, facts
        self.items: list[Item] = []
        self.warnings: list[Item] = []
        self.passed: list[str] = []  # the checks that held, one line each (shown: one can tell they ran)
        self.timeout = min(ctx.host.connect_timeout, ctx.inv.run.op_timeout)
        self._listed: dict[str, list[str]] = {}
        self._listed_guard = threading.Lock()
        self._vault: dict[str, str] | None = None
        self._vault_guard = threading.Lock()

    def password(self, value: str | None, alias: str | None) -> str:
        """The password Carbon would use: the file's value, or the Secure Vault value
        behind its alias (never the placeholder `password` the element holds). A StepError
        when the alias does not resolve."""
        if not alias:
            return value or ""
        with self._vault_guard:
            if self._vault is None:
                aliases = [d.password_alias for d in self.f.datasources if d.password_alias]
                aliases += [self.f.svn_password_alias] if self.f.svn_password_alias else []
                self._vault = resolved_values(self.ctx, aliases)
        if alias not in self._vault:
            raise StepError(f"Secure Vault alias {alias}: no value in {CIPHER_TEXT} that decrypts with the "
                            f"node's key (Carbon would not resolve it)")
        return self._vault[alias]

    def listing(self, rel: str) -> list[str]:
        """A folder of the product home, listed once for every check that needs it (driver
        and svn both look into lib)."""
        with self._listed_guard:
            if rel not in self._listed:
                self._listed[rel] = self.ctx.remote.listdir(self.ctx.home(rel)) or []
            return self._listed[rel]

    def drift(self, check: str, what: str, wanted: str, actual: str) -> None:
        self.items.append(Item(f"live {check}", what, wanted, redact(actual)))

    def ok(self, check: str, what: str) -> None:
        self.passed.append(redact(f"{check}: {what}"))

    def warn(self, check: str, what: str, wanted: str, actual: str) -> None:
        self.warnings.append(Item(f"live {check}", what, wanted, redact(actual)))

    def run(self) -> None:
        """Every check at once (they wait on the network, each over its own channel of the one SSH
        connection); the items in the order of CHECKS, whatever order they finished in."""
        def one(check: str) -> None:
            try:
                getattr(self, f"check_{check}")()
            except (HostFault, DbError) as e:
                self.drift(check, "the check itself", "could run", str(e))

        with ThreadPoolExecutor(max_workers=len(CHECKS)) as pool:
            list(pool.map(one, CHECKS))
        order = {f"live {c}": i for i, c in enumerate(CHECKS)}
        self.items.sort(key=lambda i: (order[i.file], i.what))
        self.warnings.sort(key=lambda i: (order[i.file], i.what))
        self.passed.sort(key=lambda p: (CHECKS.index(p.split(":", 1)[0]), p))

    # -- db
    def check_db(self) -> None:
        targets = [(ds, t) for ds in self.f.datasources if (t := mysql_target(ds.url)) is not None]
        hosts_text = None
        if any(not _is_ip(t[0]) for _, t in targets):
            raw = self.ctx.remote.read(self.ctx.host.hosts_file)
            hosts_text = (raw or b"").decode("utf-8", "replace")
        with ThreadPoolExecutor(max_workers=max(1, len(targets))) as pool:  # one login per datasource, at once
            list(pool.map(lambda dt: self._check_datasource(dt[0], dt[1], hosts_text), targets))

    def _check_datasource(self, ds, target, hosts_text: str | None) -> None:
        name, port, db = target
        what = f"datasource {ds.name} ({name}:{port}/{db} as {ds.username})"
        ip = name
        if not _is_ip(name):
            ip = resolve_in_hosts(hosts_text or "", name)
            if ip is None:
                self.drift("db", what, f"{name} mapped in {self.ctx.host.hosts_file}", "not mapped on this node")
                return
        route = Route((ip,), port, via=self.ctx.remote, timeout=self.timeout, op_timeout=self.ctx.inv.run.op_timeout)
        try:
            conn = route.connect(ds.username or "", self.password(ds.password, ds.password_alias))
        except StepError as e:
            self.drift("db", what, "a password Carbon can resolve", str(e))
            return
        except DbError as e:
            self.drift("db", what, "a login from this node", f"{ip}:{port}: {e}")
            return
        try:
            try:
                conn.select_db(db)
            except Exception as e:  # pymysql's OperationalError: unknown database, no privilege
                self.drift("db", what, f"database {db} usable", redact(str(e.args[-1] if e.args else e)))
                return
            tables = {t[0].upper() for t in query(conn, "SHOW TABLES")}
            if not any(t in tables for t in PRODUCT_TABLES):
                self.drift("db", what, f"the product's tables ({' or '.join(PRODUCT_TABLES)})",
                           f"{len(tables)} tables, none of them")
            else:
                self.ok("db", f"{what}: login from {self.ctx.host.name}, {len(tables)} tables")
        finally:
            conn.close()

    # -- driver
    def check_driver(self) -> None:
        lib = self.ctx.home(LIB)
        names = self.listing(LIB)
        classes: set[str] = set()
        for n in sorted(n for n in names if n.lower().endswith(".jar")):
            jar = posixpath.join(lib, n)
            found = zipdir.entries(functools.partial(self.ctx.remote.read_range, jar))
            entries = None if found is None else [e[0] for e in found]
            if entries is None:
                self.drift("driver", f"{LIB}/{n}", "a jar (zip) file", "no zip directory at its end")
                continue
            classes |= {e[:-6].replace("/", ".") for e in entries if e.endswith(".class")}
        for ds in self.f.datasources:
            if (ds.url or "").startswith("jdbc:h2:"):
                continue  # the H2 driver ships as an OSGi bundle in repository/components/plugins
            if ds.driver and ds.driver not in classes:
                self.drift("driver", f"datasource {ds.name} driverClassName", f"{ds.driver} in a jar of {LIB}",
                           f"no jar of {LIB} holds it ({len([n for n in names if n.endswith('.jar')])} jars)")
            elif ds.driver:
                self.ok("driver", f"datasource {ds.name}: {ds.driver} in a jar of {LIB}")

    # -- svn
    def check_svn(self) -> None:
        if (self.f.depsync_enabled or "").lower() != "true":
            return
        dropins = self.listing(DROPINS)
        lib = self.listing(LIB)
        if not any(jar_family(n).startswith("svnkit") for n in dropins if n.endswith(".jar")):
            self.drift("svn", f"{DROPINS}/svnkit*.jar", "the SVNKit bundle", "absent (DepSync: No Repository found "
                       "for type svn)")
        if not any(jar_family(n).startswith("trilead") for n in lib if n.endswith(".jar")):
            self.drift("svn", f"{LIB}/trilead-ssh2*.jar", "the trilead jar", "absent")
        try:
            password = self.password(self.f.svn_password, self.f.svn_password_alias)
        except StepError as e:
            self.drift("svn", f"SvnPassword of {self.f.svn_user}", "a password Carbon can resolve", str(e))
            return
        url = self.f.svn_url or ""
        why = svn_reachable(self.ctx.remote, url, self.f.svn_user or "", password, self.timeout,
                            node_trust(self.ctx, url))
        if why:
            self.drift("svn", f"SvnUrl {self.f.svn_url} as {self.f.svn_user}", "the repository, login accepted", why)
        else:
            self.ok("svn", f"SvnUrl {self.f.svn_url} as {self.f.svn_user}: login accepted")

    # -- depsync
    def check_depsync(self) -> None:
        """A worker's DepSync copy behind the repository for longer than one DepSync period is drift
        (probes/depsync.py); while its server is stopped, a warning (it updates when it starts), and no
        copy at all is fine (the server has not run yet)."""
        if self.ctx.host.role != "worker" or (self.f.depsync_enabled or "").lower() != "true":
            return
        try:
            password = self.password(self.f.svn_password, self.f.svn_password_alias)
        except StepError:
            return  # the svn check reports it
        lag = worker_lag(self.ctx, password, self.timeout)
        if lag is None:
            return
        if lag.holds:
            self.ok("depsync", lag.what)
        elif ServerProbe(self.ctx.host, self.ctx.inv, self.ctx.remote, self.ctx.secrets).state().running:
            self.drift("depsync", lag.what, lag.wanted, lag.actual)
        elif lag.no_copy:
            self.ok("depsync", f"{lag.what}: none yet, the server has not run (DepSync checks out at its start)")
        else:
            self.warn("depsync", lag.what, lag.wanted, lag.actual + " (its server is stopped)")

    # -- java
    def check_java(self) -> None:
        """The JDK judged as `start` judges it (probes/jdk.py: `java -version` of $JAVA_HOME/bin/java)."""
        home = self.ctx.host.java_home
        v = judge_java(self.ctx.remote, home)
        where = f"{v.java} (java_home)" if home else "java on the login PATH"
        if v.problem is None:
            self.ok("java", f"{where}: {v.version}")
        elif v.version is not None and v.problem.endswith("needs 1.7 or 1.8"):
            self.drift("java", where, f"{WANTED} (Carbon 4.4's start script refuses others)", v.version)
        else:
            self.drift("java", where, WANTED, v.problem)

    # -- members
    def check_members(self) -> None:
        """Where the node's server runs, the members it sees now, from its log (Carbon's `Member
        joined/left` lines since its start); each WKA member it does not see is then opened from
        the node: refused is a warning (that server is stopped), accepting is drift (it runs, but
        this server does not see it). Where the server does not run, each WKA member's port is
        opened from the node as before."""
        srv = ServerProbe(self.ctx.host, self.ctx.inv, self.ctx.remote, self.ctx.secrets)
        seen = None
        if self.ctx.remote.read(srv.path("wso2carbon.pid"), 4096, "a pid file") is not None and srv.state().running:
            seen = logs.members(srv.log_tail())
        for host, port in self.f.members:
            what = f"WKA member {host}:{port}"
            if not port.isdigit():
                self.drift("members", what, "a port", port)
                continue
            if seen is not None and (host, int(port)) in seen:
                self.ok("members", f"{what}: a member the running server sees")
                continue
            try:
                self.ctx.remote.open_channel(host, int(port), self.timeout).close()
                if seen is None:
                    self.ok("members", f"{what}: accepting")
                else:
                    self.drift("members", what, "a member the running server sees", "accepting, but not seen "
                               "(the servers run and have not formed one cluster: domain, members, ports?)")
            except RemoteError as e:
                msg = str(e)
                if "Connect failed" in msg or "refused" in msg.lower():  # sshd's answer: the port said no
                    self.warn("members", what, "accepting", "refused (the server is not running?)")
                else:  # no answer within the timeout: a firewall or a wrong address
                    self.drift("members", what, "an answer from this node", msg)

    # -- lb
    def check_lb(self) -> None:
        c = self.ctx.inv.cluster
        for lb in self.ctx.inv.by_role("lb"):
            address = self.ctx.inv.lb.listen or lb.member_host or lb.address
            for name in (c.hostname, c.mgt_hostname):
                for tls, port in ((False, c.lb_http_port), (True, c.lb_https_port)):
                    if name == c.mgt_hostname and not tls:
                        continue  # the console is served over HTTPS only
                    status, why = http_through(self.ctx.remote, address, port, name, tls, self.timeout)
                    what = f"{'https' if tls else 'http'}://{name}:{port}/ through {lb.name}"
                    if status is None:
                        self.drift("lb", what, "a backend's answer", why or "no HTTP answer")
                    elif status in (502, 503, 504):
                        self.drift("lb", what, "a backend's answer", f"nginx's own {status}")
                    else:
                        self.ok("lb", f"{what}: HTTP {status} from a backend")


    # -- server
    def check_server(self) -> None:
        """A node that should run and does not, a password-tmp left behind: drift with the fix."""
        ctx = self.ctx
        st = ServerProbe(ctx.host, ctx.inv, ctx.remote, ctx.secrets).state()
        found = health_items(ctx.remote, ctx.host, ctx.inv, st, read_record(ctx.remote, ctx.host), f"{LIVE} server")
        self.items += [Item(i.file, i.what, i.wanted, redact(i.actual or ""), fix=i.fix) for i in found]
        if not found:
            self.ok("server", f"running, pid {st.pid}" if st.running else "stopped, not expected to run")


def live_result(ctx: StepContext, facts: NodeFacts | None = None) -> StepResult:
    """The `live` row of one node (never raises)."""
    try:
        f = facts or read_facts(ctx)
        live = Live(ctx, f)
        live.run()
    except HostFault as e:
        return StepResult(ctx.host.name, LIVE, Status.FAILED, message=redact(str(e)), fields={"error": "unreadable"})
    n = len(live.passed)
    return StepResult(ctx.host.name, LIVE, Status.DRIFT if live.items else Status.OK, live.items,
                      warnings=live.warnings, message=f"{n} check{'s' if n != 1 else ''} passed", passed=live.passed,
                      fields=live_fields(live.items, live.warnings, live.passed))


def live_fields(items: list[Item], warnings: list[Item], passed: list[str]) -> dict:
    """The live row as data: each check's outcome (`drift` when an item names it, else `warning`, else `ok`
    when it held, else `not-run`: nothing for it to check on this node) and how many checks held; the items
    themselves (check, what, wanted, actual) are the row's `items` and `warnings`."""
    drifted = {i.file.removeprefix("live ") for i in items}
    warned = {i.file.removeprefix("live ") for i in warnings}
    held = {p.split(":", 1)[0] for p in passed}
    checks = {c: "drift" if c in drifted else "warning" if c in warned else "ok" if c in held else "not-run"
              for c in CHECKS}
    return {"checks": checks, "passed": len(passed), "drift": [c for c in checks if c in drifted]}


__all__ = ["LIVE", "Live", "live_result"]
