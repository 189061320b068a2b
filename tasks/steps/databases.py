"""create-dbs: the four databases, the product's dbscripts, the application user and its grants
(guide: "Creando las base de datos", 5-7: create database, source the dbscripts, grant).

`plan_databases` is pure: from what the server holds (a `State` snapshot) and what hosts.toml
wants, it lists drift items, the operations patch would run, and the errors that forbid patching
(a half-loaded database, a foreign table in a database to load, a wrong charset under tables).
Nothing is ever dropped.  `CreateDbs` reads the snapshot (reads only), and applies the operations
with one admin connection, reached directly or through the target host's SSH connection.

A password change never cuts running servers off (issue 23): where the server can hold two credentials for one
account (MariaDB 10.4+: `IDENTIFIED VIA ... OR ...`; MySQL 8.0.14+: `RETAIN CURRENT PASSWORD`), `alter-user` makes
the account accept WSO2_DB_PASSWORD *and* the hash it had, so a node still running with the old password in its
files keeps opening connections until it restarts. verify warns while an older password is accepted;
`fab rotate-passwords` retires it (`retire-old`) once no running node needs a restart.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Callable, ClassVar

from ..config import Host, Inventory
from ..remote.mysql import (AccessDenied, DbError, Route, all_privilege_dbs, execute, is_loopback,
                     native_password_hash, query, quote_ident, run_script)
from ..remote import dbundo
from ..engine import ops
from ..engine.plan import Item, Plan
from ..remote import SCRIPT_LIMIT, RemoteError
from ..formats.sqlscript import ScriptError, Statement, created_tables, split_statements
from .base import Step
from ..engine.context import StepContext, StepError

MAIN_SCRIPT = "dbscripts/mysql.sql"
IDENTITY_SCRIPT = "dbscripts/identity/mysql.sql"


# ---------------------------------------------------------------- the pure part

@dataclass(frozen=True)
class Script:
    """A product SQL script: its statements and the tables it creates."""

    label: str
    statements: tuple[Statement, ...]
    tables: tuple[str, ...]

    @classmethod
    def parse(cls, label: str, data: bytes) -> "Script":
        """Split and read a script; ScriptError when it creates no table."""
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
        statements = split_statements(text, label)
        tables = created_tables(statements)
        if not tables:
            raise ScriptError(f"{label} creates no table: not a product dbscript")
        return cls(label, tuple(statements), tuple(tables))


@dataclass(frozen=True)
class Wanted:
    """What hosts.toml asks for: databases with their scripts in load order, charset, user, grant hosts."""

    charset: str
    user: str
    grant_hosts: tuple[str, ...]
    loads: dict[str, tuple[Script, ...]]
    retire: bool = False  # a rotation ends: an older password still accepted is retired


#: the warning while an account accepts an older password beside WSO2_DB_PASSWORD
OLDER_ACCEPTED = "an older password is still accepted beside WSO2_DB_PASSWORD (a rotation not finished)"


@dataclass
class Account:
    """One user@host: present, databases it holds ALL PRIVILEGES on, password check result."""

    exists: bool = False
    all_on: frozenset[str] = frozenset()
    password: str | None = None  # "ok", "login refused", "stored hash differs", None = not checked
    older: bool = False  # also accepts an older password (a rotation not finished)


@dataclass
class State:
    """A read-only snapshot of the server."""

    charsets: dict[str, str] = field(default_factory=dict)  # existing database -> default charset
    tables: dict[str, frozenset[str]] = field(default_factory=dict)  # database -> tables, lower case
    accounts: dict[str, Account] = field(default_factory=dict)  # grant host -> account
    #: the application user's accounts for hosts no node of hosts.toml has (a node removed: scale in)
    strays: tuple[str, ...] = ()
    #: how the server keeps an old password beside a new one: "mariadb", "mysql" or "" (it cannot)
    dual: str = ""


@dataclass(frozen=True)
class Op:
    """One change of the server for the wanted state: a kind of its own per class (`kind` names it), what it says
    in a dry-run (`describe`, every password as ********) and what it runs (`run`, on the admin connection)."""

    kind: ClassVar[str] = ""
    account: ClassVar[bool] = False  # changes the application user's account (rollback can undo it)
    db: str = ""
    host: str = ""
    script: Script | None = None
    dual: str = ""  # AlterUser, RetireOld: how the server holds two passwords (State.dual)

    def describe(self, w: Wanted) -> str:
        raise NotImplementedError

    def run(self, conn, w: Wanted, password: Callable[[], str]) -> None:
        """Run the change; `password()` reads WSO2_DB_PASSWORD only when a statement needs it."""
        raise NotImplementedError


class CreateDb(Op):
    kind = "create-db"

    def describe(self, w: Wanted) -> str:
        return f"CREATE DATABASE {quote_ident(self.db)} CHARACTER SET {w.charset}"

    def run(self, conn, w: Wanted, password) -> None:
        execute(conn, f"CREATE DATABASE IF NOT EXISTS {quote_ident(self.db)} CHARACTER SET %s", (w.charset,))


class AlterCharset(Op):
    kind = "alter-charset"

    def describe(self, w: Wanted) -> str:
        return f"ALTER DATABASE {quote_ident(self.db)} CHARACTER SET {w.charset}"

    def run(self, conn, w: Wanted, password) -> None:
        execute(conn, f"ALTER DATABASE {quote_ident(self.db)} CHARACTER SET %s", (w.charset,))


class Load(Op):
    kind = "load"

    @property
    def loaded(self) -> Script:
        """The script a load record always carries."""
        assert self.script is not None, "a Load without a script"
        return self.script

    def describe(self, w: Wanted) -> str:
        sc = self.loaded
        return f"load {sc.label} into {self.db} ({len(sc.statements)} statements, {len(sc.tables)} tables)"

    def run(self, conn, w: Wanted, password) -> None:
        sc = self.loaded
        have = {r[0].lower() for r in query(conn, "SELECT TABLE_NAME FROM information_schema.TABLES "
                                                  "WHERE TABLE_SCHEMA = %s", (self.db,))}
        if have & {t.lower() for t in sc.tables}:
            raise StepError(f"{self.db} gained tables since the plan; {sc.label} not loaded")
        run_script(conn, self.db, list(sc.statements), sc.label)


class CreateUser(Op):
    kind, account = "create-user", True

    def describe(self, w: Wanted) -> str:
        return f"CREATE USER IF NOT EXISTS {account_label(w.user, self.host)} IDENTIFIED BY '********'"

    def run(self, conn, w: Wanted, password) -> None:
        execute(conn, "CREATE USER IF NOT EXISTS %s@%s IDENTIFIED BY %s", (w.user, self.host, password()),
                "CREATE USER")


class AlterUser(Op):
    """WSO2_DB_PASSWORD for an existing account; where the server can (`dual`), its current password stays
    accepted beside it."""

    kind, account = "alter-user", True

    def describe(self, w: Wanted) -> str:
        return (f"ALTER USER {account_label(w.user, self.host)} IDENTIFIED BY '********'" + (
            "  (the old password still accepted beside it until the nodes restart)" if self.dual else ""))

    def run(self, conn, w: Wanted, password) -> None:
        old = current_hash(conn, w.user, self.host) if self.dual == "mariadb" else None
        keep = self.dual == "mysql" or bool(old)
        args = (w.user, self.host, password()) + ((old,) if keep and self.dual == "mariadb" else ())
        execute(conn, alter_password_sql(self.dual, keep), args, "ALTER USER")


class RetireOld(Op):
    kind, account = "retire-old", True

    def describe(self, w: Wanted) -> str:
        return (f"ALTER USER {account_label(w.user, self.host)}: only WSO2_DB_PASSWORD accepted (the older "
                f"password retired)")

    def run(self, conn, w: Wanted, password) -> None:
        args = (w.user, self.host) if self.dual == "mysql" else (w.user, self.host, password())
        execute(conn, retire_sql(self.dual), args, "ALTER USER")


class Grant(Op):
    kind, account = "grant", True

    def describe(self, w: Wanted) -> str:
        return f"GRANT ALL PRIVILEGES ON {quote_ident(self.db)}.* TO {account_label(w.user, self.host)}"

    def run(self, conn, w: Wanted, password) -> None:
        execute(conn, f"GRANT ALL PRIVILEGES ON {quote_ident(self.db)}.* TO %s@%s", (w.user, self.host))


class DropUser(Op):
    kind, account = "drop-user", True

    def describe(self, w: Wanted) -> str:
        return f"DROP USER {account_label(w.user, self.host)}  (no node of hosts.toml has this address)"

    def run(self, conn, w: Wanted, password) -> None:
        execute(conn, "DROP USER IF EXISTS %s@%s", (w.user, self.host), "DROP USER")


@dataclass
class Outcome:
    """The pure planner's answer."""

    items: list[Item] = field(default_factory=list)
    ops: list[Op] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[Item] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def account_label(user: str, host: str) -> str:
    """'user'@'host', as the server names an account."""
    return f"'{user}'@'{host}'"


def plan_databases(w: Wanted, s: State) -> Outcome:
    """Items, operations and blocking errors that bring the server from `s` to `w`."""
    out = Outcome()
    for db, scripts in w.loads.items():
        _plan_database(out, w, s, db, scripts)
    for host in w.grant_hosts:
        _plan_account(out, w, s.accounts.get(host, Account()), host, s.dual)
    for host in s.strays:  # scale in: the account of a node that left hosts.toml goes with it
        out.items.append(Item(f"user {account_label(w.user, host)}", "account",
                              None, "present (no node of hosts.toml has this address)"))
        out.ops.append(DropUser(host=host))
    return out


def _plan_database(out: Outcome, w: Wanted, s: State, db: str, scripts: tuple[Script, ...]) -> None:
    label = f"database {db}"
    present = s.tables.get(db, frozenset())
    if db not in s.charsets:
        out.items.append(Item(label, "database", f"present, charset {w.charset}", None))
        out.ops.append(CreateDb(db))
    elif s.charsets[db].lower() != w.charset.lower():
        out.items.append(Item(label, "charset", w.charset, s.charsets[db]))
        if present:
            out.errors.append(f"{db} has charset {s.charsets[db]}, not {w.charset}, and already holds tables; "
                              f"nothing is dropped or converted: fix it by hand")
        else:
            out.ops.append(AlterCharset(db))
    earlier: set[str] = set()
    for script in scripts:
        want = {t.lower(): t for t in script.tables}
        missing = [t for k, t in want.items() if k not in present]
        if missing and len(missing) < len(want):
            out.items.append(Item(label, f"tables of {script.label}", f"all {len(want)}",
                                  f"{len(want) - len(missing)} of {len(want)}, missing {', '.join(missing)}"))
            out.errors.append(f"{db} is half-loaded: it lacks {len(missing)} of the {len(want)} tables "
                              f"{script.label} creates ({', '.join(missing)}); the script is not "
                              f"re-runnable and nothing is dropped: restore {db} or drop it by hand")
        elif missing:
            out.items.append(Item(label, f"tables of {script.label}", f"all {len(want)}", "none"))
            foreign = sorted(present - earlier)
            if foreign:
                out.errors.append(f"{db} is not empty (it holds {', '.join(foreign)}, which {script.label} "
                                  f"does not create); the script runs only into an empty database")
            else:
                out.ops.append(Load(db, script=script))
        earlier |= set(want)


def _plan_account(out: Outcome, w: Wanted, a: Account, host: str, dual: str = "") -> None:
    label = f"user {account_label(w.user, host)}"
    if not a.exists:
        out.items.append(Item(label, "account", "present", None))
        out.ops.append(CreateUser(host=host))
    elif a.password not in (None, "ok"):
        out.items.append(Item(label, "password", "WSO2_DB_PASSWORD", a.password))
        out.ops.append(AlterUser(host=host, dual=dual))
        note = (f"{w.user!r}: the old password stays accepted beside the new one, so that running "
                f"servers keep their database access; `fab rotate-passwords` brings the new one to every node "
                f"without a lost request and then retires the old one") if dual else (
                f"{w.user!r}: this server cannot accept two passwords at once (MariaDB 10.4+ or "
                f"MySQL 8.0.14+ can): running servers lose new database connections until they restart with the "
                f"new password (fab rotate-passwords restarts them at once)")
        if note not in out.notes:
            out.notes.append(note)
    elif a.older and w.retire:
        out.items.append(Item(label, "password", "WSO2_DB_PASSWORD only", "WSO2_DB_PASSWORD and an older one"))
        out.ops.append(RetireOld(host=host, dual=dual))
    elif a.older:
        out.warnings.append(Item(label, "password", "WSO2_DB_PASSWORD only", OLDER_ACCEPTED,
                                 fix="fab rotate-passwords"))
    if "*" in a.all_on:
        return
    lacking = [db for db in w.loads if db not in a.all_on]
    if lacking:
        fmt = lambda dbs: "ALL PRIVILEGES ON " + ", ".join(f"{d}.*" for d in dbs) if dbs else None
        out.items.append(Item(label, "grants", fmt(list(w.loads)), fmt([d for d in w.loads if d in a.all_on])))
        out.ops += [Grant(db, host) for db in lacking]


# ---------------------------------------------------------------- reading the server

def read_state(conn, w: Wanted) -> tuple[State, dict[str, dict]]:
    """The snapshot (reads only), and the mysql.user rows of the application user by host."""
    dbs = list(w.loads)
    ph = ", ".join(["%s"] * len(dbs))
    s = State()
    s.charsets = dict(query(conn, "SELECT SCHEMA_NAME, DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA "
                                  f"WHERE SCHEMA_NAME IN ({ph})", dbs))
    tables: dict[str, set[str]] = {}
    for schema, table in query(conn, "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES "
                                     f"WHERE TABLE_SCHEMA IN ({ph})", dbs):
        tables.setdefault(schema, set()).add(table.lower())
    s.tables = {k: frozenset(v) for k, v in tables.items()}
    rows = {r["Host"].lower(): r for r in query(conn, "SELECT * FROM mysql.user WHERE User = %s", (w.user,),
                                                  dicts=True)}
    s.dual, older = older_passwords(conn, w.user)
    wanted_hosts = {h.lower() for h in w.grant_hosts}
    s.strays = tuple(r["Host"] for k, r in sorted(rows.items()) if k not in wanted_hosts)
    for host in w.grant_hosts:
        row = rows.get(host.lower())
        if row is None:
            s.accounts[host] = Account()
            continue
        grants = [r[0] for r in query(conn, "SHOW GRANTS FOR %s@%s", (w.user, row["Host"]))]
        s.accounts[host] = Account(True, frozenset(all_privilege_dbs(grants)), older=row["Host"].lower() in older)
    return s, rows


def older_passwords(conn, user: str) -> tuple[str, set[str]]:
    """How this server keeps two passwords for one account ("mariadb", "mysql", or "" when it cannot), and the
    hosts (lower case) of the user's accounts that accept an older password beside their current one."""
    version = (query(conn, "SELECT VERSION()")[0][0] or "").lower()
    if "mariadb" in version:
        if _version_tuple(version) < (10, 4):
            return "", set()
        rows = query(conn, "SELECT Host, JSON_LENGTH(Priv, '$.auth_or') FROM mysql.global_priv WHERE User = %s",
                     (user,))
        return "mariadb", {h.lower() for h, n in rows if (n or 0) > 1}
    if _version_tuple(version) < (8, 0, 14):
        return "", set()
    rows = query(conn, "SELECT Host, JSON_EXTRACT(User_attributes, '$.additional_password') IS NOT NULL "
                       "FROM mysql.user WHERE User = %s", (user,))
    return "mysql", {h.lower() for h, yes in rows if yes}


def _version_tuple(version: str) -> tuple[int, ...]:
    m = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", version)
    return tuple(int(x) for x in m.groups(default="0")) if m else (0,)


def alter_password_sql(dual: str, keep_old: bool) -> str:
    """The ALTER USER (parameters: user, host, password[, the old hash]) that sets WSO2_DB_PASSWORD; with keep_old
    the account goes on accepting its current password too (MariaDB: the current hash as a second
    mysql_native_password credential; MySQL 8: RETAIN CURRENT PASSWORD)."""
    if keep_old and dual == "mariadb":
        return ("ALTER USER %s@%s IDENTIFIED VIA mysql_native_password USING PASSWORD(%s) "
                "OR mysql_native_password USING %s")
    if keep_old and dual == "mysql":
        return "ALTER USER %s@%s IDENTIFIED BY %s RETAIN CURRENT PASSWORD"
    return "ALTER USER %s@%s IDENTIFIED BY %s"


def retire_sql(dual: str) -> str:
    """The ALTER USER that leaves only the current password (MariaDB: set again, one credential; MySQL 8: DISCARD
    OLD PASSWORD; parameters as alter_password_sql's without the old hash)."""
    return "ALTER USER %s@%s DISCARD OLD PASSWORD" if dual == "mysql" else "ALTER USER %s@%s IDENTIFIED BY %s"


def check_passwords(s: State, rows: dict[str, dict], route: Route, w: Wanted, password: str) -> list[str]:
    """Set each existing account's password result: a real login where a connection can come from
    its host (a loopback source on this machine, or '%'), else the stored mysql_native_password hash.
    Returns notes for the accounts that could not be checked."""
    notes = []
    for host, a in s.accounts.items():
        if not a.exists:
            continue
        bind = host if route.local and is_loopback(host) else None
        if bind or host == "%":
            try:
                route.connect(w.user, password, bind_address=bind).close()
                a.password = "ok"
                continue
            except AccessDenied:
                a.password = "login refused"
                continue
            except DbError as e:
                notes.append(f"login as {account_label(w.user, host)} not tried: {e}")
        row = rows[host.lower()]
        stored = row.get("authentication_string") or row.get("Password") or ""
        if row.get("plugin") in ("mysql_native_password", "", None) and stored.startswith("*"):
            a.password = "ok" if stored == native_password_hash(password) else "stored hash differs"
        else:
            notes.append(f"password of {account_label(w.user, host)} not checked (plugin {row.get('plugin')}; "
                         f"no connection can come from {host} here)")
    return notes


# ---------------------------------------------------------------- the step

def db_hosts(inv: Inventory) -> list[Host]:
    """The `db` group, else the host that [database].host names."""
    return inv.by_role("db") or [h for h in inv.hosts.values() if h.name == inv.database.host]


def grant_hosts(inv: Inventory) -> tuple[str, ...]:
    """[database].grant_hosts, else every ESB node's member_host (once each)."""
    hosts = inv.database.grant_hosts or tuple(dict.fromkeys(h.member_host for h in inv.esb_nodes))
    if not hosts:
        raise StepError("no grant hosts: set [database].grant_hosts or add manager/worker hosts")
    return hosts


def route_for(ctx: StepContext) -> Route:
    """[database].host:port, directly or (tunnel = true) through this host's SSH connection."""
    d = ctx.inv.database
    node = ctx.inv.hosts.get(d.host or ctx.host.name)
    address = node.address if node else d.host
    if not d.tunnel:
        return Route((address,), d.port, timeout=ctx.host.connect_timeout, op_timeout=ctx.inv.run.op_timeout)
    here = address == ctx.host.address
    dests = tuple(dict.fromkeys(("127.0.0.1", address) if here else (address,)))
    return Route(dests, d.port, via=ctx.remote, timeout=ctx.host.connect_timeout, op_timeout=ctx.inv.run.op_timeout)


def wanted(ctx: StepContext) -> tuple[Wanted, list[str]]:
    """The wanted state, with the scripts read over SFTP from the manager's product home."""
    inv, d = ctx.inv, ctx.inv.database
    managers = inv.by_role("manager")
    if not managers:
        raise StepError("no host with role = \"manager\": its product home holds the dbscripts")
    try:
        m = ctx.other(managers[0])
        main = Script.parse(MAIN_SCRIPT, m.read_required(m.home(MAIN_SCRIPT), SCRIPT_LIMIT, "a product script"))
        identity = m.remote.read(m.home(IDENTITY_SCRIPT), SCRIPT_LIMIT, "a product script")
    except RemoteError as e:
        raise StepError(f"reading the dbscripts on {managers[0].name}: {e}") from None
    user_scripts: tuple[Script, ...] = (main,)
    notes: list[str] = []
    if identity is None:
        notes.append(f"{IDENTITY_SCRIPT}: skipped (not shipped in {m.host.name}:{m.host.product_home})")
    else:
        user_scripts += (Script.parse(IDENTITY_SCRIPT, identity),)
    loads: dict[str, tuple[Script, ...]] = {d.user_db: user_scripts}
    for db in (d.registry_db, d.local_db_manager, d.local_db_worker):
        loads.setdefault(db, (main,))
    return Wanted(d.charset, d.user, grant_hosts(inv), loads), notes


class AdminLink:
    """The admin connection of one patch, opened on first use and closed after the last action."""

    def __init__(self, route: Route, user: str, password: str):
        self.route, self.user, self.password = route, user, password
        self._conn = None

    def open(self):
        """The connection (opened now if needed); a refused admin password is a clear StepError."""
        if self._conn is None:
            try:
                self._conn = self.route.connect(self.user, self.password)
            except AccessDenied as e:
                raise StepError(f"MySQL refused the admin user {self.user!r} (check MYSQL_ADMIN_PASSWORD): "
                                f"{e}") from None
        return self._conn

    def close(self) -> None:
        """Close the connection if open (quietly)."""
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                pass
            self._conn = None




class AccountUndo:
    """The undo of the account changes of one patch, kept once, right before the first of them: the SQL that puts
    every account the patch changes back as it is now, kept with the run's backups (rollback runs it)."""

    def __init__(self, link: AdminLink, user: str, hosts: list[str]):
        self.link, self.user, self.hosts = link, user, hosts
        self.kept = False

    def keep(self, ctx: StepContext) -> None:
        if self.kept:
            return
        if self.hosts:
            undo = dbundo.account_undo(self.link.open(), self.user, self.hosts)
            ctx.remote.keep_sql(CreateDbs.name, dbundo.dump(undo))
        self.kept = True


@dataclass
class DbPlan(Plan):
    """A Plan whose actions share one admin connection (closed after apply) and one account undo."""

    link: AdminLink | None = None


class CreateDbs(Step):
    name = "create-dbs"
    phase = "databases"
    secrets = ("MYSQL_ADMIN_PASSWORD", "WSO2_DB_PASSWORD")
    help = ("the four databases (charset), the product's dbscripts, the application user and its grants "
            "(guide: Creando las base de datos, 5-7)")
    esb_only = False

    def default_targets(self, inv: Inventory) -> list[Host]:
        """The `db` group (else the host [database].host names)."""
        return db_hosts(inv)

    def applies_to(self, host: Host, inv: Inventory) -> str | None:
        """Runs on a db host or the host [database].host names; others are skipped."""
        if host.role == "db" or host.name == inv.database.host:
            return None
        return f"not the database host (role {host.role})"

    def plan(self, ctx: StepContext) -> Plan:
        """Read the scripts and the server (reads only); items, actions, notes; refuse what patch must not do."""
        try:
            return self._plan(ctx)
        except (DbError, ScriptError) as e:
            raise StepError(str(e)) from None

    #: rotate-passwords' last phase: an older password still accepted beside WSO2_DB_PASSWORD is retired
    retire_old = False

    def _plan(self, ctx: StepContext) -> DbPlan:
        w, notes = wanted(ctx)
        if self.retire_old:
            w = replace(w, retire=True)
        admin_pw = ctx.secrets.require("MYSQL_ADMIN_PASSWORD")
        app_pw = ctx.secrets.require("WSO2_DB_PASSWORD")
        route = route_for(ctx)
        link = AdminLink(route, ctx.inv.database.admin_user, admin_pw)
        try:
            state, rows = read_state(link.open(), w)
        finally:
            link.close()
        notes += check_passwords(state, rows, route, w, app_pw)
        out = plan_databases(w, state)
        plan = DbPlan(items=out.items, notes=notes + out.notes, link=link, refusals=list(out.errors),
                      warnings=out.warnings)
        undo = AccountUndo(link, w.user, list(dict.fromkeys(op.host for op in out.ops if op.account)))
        plan.actions = [Sql(op, w, link, undo) for op in out.ops]
        return plan

    def apply(self, ctx: StepContext, plan: Plan) -> None:
        """Run the operations in order on one admin connection (the first account change keeps the undo of every
        account the plan changes, with the run's backups)."""
        try:
            super().apply(ctx, plan)
        except (DbError, ScriptError) as e:
            raise StepError(str(e)) from None
        finally:
            if isinstance(plan, DbPlan) and plan.link:
                plan.link.close()


class RetireOldPassword(CreateDbs):
    """create-dbs as rotate-passwords ends: also retires an older password still accepted beside WSO2_DB_PASSWORD
    (run only when no running node needs a restart: none still uses the old one)."""

    retire_old = True


@dataclass(frozen=True, eq=False)
class Sql(ops.Op):
    """One change of the server (`change`, an Op) for the wanted state `w`, run on the plan's admin connection; the
    application password is read when it runs and shown as ******** (its description is the SQL)."""

    change: Op
    w: Wanted
    link: AdminLink  # the plan's one admin connection
    undo: AccountUndo  # the plan's account undo, kept before the first account change

    def describe(self) -> str:
        return self.change.describe(self.w)

    def perform(self, ctx: StepContext) -> None:
        if self.change.account:
            self.undo.keep(ctx)  # the accounts as they are, kept before the first change of one
        self.change.run(self.link.open(), self.w, lambda: ctx.secrets.require("WSO2_DB_PASSWORD"))


def current_hash(conn, user: str, host: str) -> str | None:
    """The account's mysql_native_password hash now (the credential a running node still uses), or None when it
    has none (another plugin: nothing to keep)."""
    rows = query(conn, "SELECT plugin, authentication_string FROM mysql.user WHERE User = %s AND Host = %s",
                 (user, host))
    if rows and rows[0][0] in ("mysql_native_password", "") and str(rows[0][1] or "").startswith("*"):
        return str(rows[0][1])
    return None
