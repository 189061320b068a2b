"""create-dbs: the four databases, the product's dbscripts, the application user and its grants
(guide: "Creando las base de datos", 5-7: create database, source the dbscripts, grant).

`plan_databases` (dbplan.py) is pure: from what the server holds (a `State` snapshot) and what
hosts.toml wants, it lists drift items, the operations patch would run, and the errors that forbid
patching. Here: `CreateDbs` reads the snapshot (reads only), and applies the operations with one
admin connection, reached directly or through the target host's SSH connection.

The dbscripts are a node's files, run as the admin (issue 29): each is read only when it lies in
the manager's product home (a symbolic link out of it is refused), and runs only when known by
its SHA-256 or made of schema statements alone (Script.parse, formats/sqlcheck.py); the plan
lists each script it loads.

A password change never cuts running servers off (issue 23): where the server can hold two
credentials for one account (MariaDB 10.4+: `IDENTIFIED VIA ... OR ...`; MySQL 8.0.14+: `RETAIN
CURRENT PASSWORD`), `alter-user` makes the account accept WSO2_DB_PASSWORD *and* the hash it had, so
a node still running with the old password in its files keeps opening connections until it restarts.
verify warns while an older password is accepted; `fab rotate-passwords` retires it (`retire-old`)
once no running node needs a restart.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from ..config import Host, Inventory
from ..remote.mysql import (AccessDenied, DbError, Route, account_password, all_privilege_dbs, query, route_for,
                            stage_name)
from ..remote import dbundo
from ..rules import db_hosts
from ..engine import ops
from ..engine.plan import Plan
from ..remote import SCRIPT_LIMIT, RemoteError
from ..formats.sqlscript import ScriptError
from .base import Step
from ..engine.context import StepContext, StepError

from .dbplan import Account, Op, State, Wanted, _version_tuple, plan_databases
from .dbscript import IDENTITY_SCRIPT, MAIN_SCRIPT, Script


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
    stages = {stage_name(db): db for db in dbs}
    s.stages = frozenset(stages[r[0]] for r in query(
        conn, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME IN "
              f"({', '.join(['%s'] * len(stages))})", list(stages)) if r[0] in stages)
    rows = {r["Host"].lower(): r for r in query(conn, "SELECT * FROM mysql.user WHERE User = %s", (w.user,),
                                                  dicts=True)}
    s.dual, older = older_passwords(conn, w.user)
    wanted_hosts = {h.lower() for h in w.grant_hosts}
    s.strays = tuple(r["Host"] for k, r in sorted(rows.items()) if k not in wanted_hosts)
    if s.strays:  # scale in: who still uses the accounts that would go
        s.sessions = tuple((int(i), str(h), d) for i, h, d in query(
            conn, "SELECT ID, HOST, DB FROM information_schema.PROCESSLIST WHERE USER = %s", (w.user,)))
    for host in w.grant_hosts:
        row = rows.get(host.lower())
        if row is None:
            s.accounts[host] = Account()
            continue
        grants = [r[0] for r in query(conn, "SHOW GRANTS FOR %s@%s", (w.user, row["Host"]))]
        s.accounts[host] = Account(True, frozenset(all_privilege_dbs(grants)), older=row["Host"].lower() in older)
    return s, rows


def older_passwords(conn, user: str) -> tuple[str, set[str]]:
    """How this server keeps two passwords for one account ("mariadb", "mysql", or "" when
    it cannot), and the hosts (lower case) of the user's accounts that accept an older
    password beside their current one."""
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


def check_passwords(s: State, rows: dict[str, dict], route: Route, w: Wanted, password: str) -> list[str]:
    """Set each existing account's password result (remote/mysql.account_password: a real login where
    a connection can come from its host, else the stored hash). Returns notes for the accounts that
    could not be checked."""
    notes = []
    for host, a in s.accounts.items():
        if not a.exists:
            continue
        verdict, more = account_password(route, w.user, host, rows[host.lower()], password)
        if verdict is not None:
            a.password = verdict
        notes += more
    return notes


# ---------------------------------------------------------------- the step

def grant_hosts(inv: Inventory) -> tuple[str, ...]:
    """[database].grant_hosts, else every ESB node's member_host (once each)."""
    hosts = inv.database.grant_hosts or tuple(dict.fromkeys(h.member_host for h in inv.esb_nodes))
    if not hosts:
        raise StepError("no grant hosts: set [database].grant_hosts or add manager/worker hosts")
    return hosts


def wanted(ctx: StepContext) -> tuple[Wanted, list[str]]:
    """The wanted state, with the scripts read over SFTP from the manager's product home (each
    one checked: known by its digest, or schema only; see Script.parse)."""
    inv, d = ctx.inv, ctx.inv.database
    managers = inv.by_role("manager")
    if not managers:
        raise StepError("no host with role = \"manager\": its product home holds the dbscripts")
    try:
        m = ctx.other(managers[0])
        main = Script.parse(MAIN_SCRIPT, m.read_required(inside_home(m, MAIN_SCRIPT), SCRIPT_LIMIT,
                                                         "a product script"), where_on(m, MAIN_SCRIPT))
        identity = m.remote.read(inside_home(m, IDENTITY_SCRIPT), SCRIPT_LIMIT, "a product script")
    except RemoteError as e:
        raise StepError(f"reading the dbscripts on {managers[0].name}: {e}") from None
    user_scripts: tuple[Script, ...] = (main,)
    notes: list[str] = []
    if identity is None:
        notes.append(f"{IDENTITY_SCRIPT}: skipped (not shipped in {m.host.name}:{m.host.product_home})")
    else:
        user_scripts += (Script.parse(IDENTITY_SCRIPT, identity, where_on(m, IDENTITY_SCRIPT)),)
    loads: dict[str, tuple[Script, ...]] = {d.user_db: user_scripts}
    for db in (d.registry_db, d.local_db_manager, d.local_db_worker):
        loads.setdefault(db, (main,))
    return Wanted(d.charset, d.user, grant_hosts(inv), loads), notes


def where_on(m: StepContext, rel: str) -> str:
    """host:path of a product file, for messages."""
    return f"{m.host.name}:{m.home(rel)}"


def inside_home(m: StepContext, rel: str) -> str:
    """The path of a product script, after checking that it reaches a file inside the product home
    (a symbolic link to a file elsewhere, /etc/shadow or a huge file, is refused before any read)."""
    path = m.home(rel)
    real, home = m.remote.realpath(path), m.remote.realpath(m.host.product_home).rstrip("/")
    if not real.startswith(home + "/"):
        raise StepError(f"{where_on(m, rel)} leads to {real} through a symbolic link, outside the product "
                        f"home; refused, not read: put the product's own script back")
    return path


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
    """The undo of the account changes of one patch, kept once, right before the first of
    them: the SQL that puts every account the patch changes back as it is now, kept with the
    run's backups (rollback runs it)."""

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

    #: rotate-passwords' last phase: an older password still accepted
    #: beside WSO2_DB_PASSWORD is retired
    retire_old = False

    def _plan(self, ctx: StepContext) -> DbPlan:
        w, notes = wanted(ctx)
        if self.retire_old:
            w = replace(w, retire=True)
        admin_pw = ctx.secrets.require("MYSQL_ADMIN_PASSWORD")
        app_pw = ctx.secrets.require("WSO2_DB_PASSWORD")
        route = route_for(ctx.inv, ctx.host, ctx.remote)
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
        """Run the operations in order on one admin connection (the first account change keeps the
        undo of every account the plan changes, with the run's backups)."""
        try:
            super().apply(ctx, plan)
        except (DbError, ScriptError) as e:
            raise StepError(str(e)) from None
        finally:
            if isinstance(plan, DbPlan) and plan.link:
                plan.link.close()


class RetireOldPassword(CreateDbs):
    """create-dbs as rotate-passwords ends: also retires an older password still
    accepted beside WSO2_DB_PASSWORD (run only when no running node needs a restart:
    none still uses the old one)."""

    retire_old = True


@dataclass(frozen=True, eq=False)
class Sql(ops.Op):
    """One change of the server (`change`, an Op) for the wanted state `w`, run on the plan's
    admin connection; the application password is read when it runs and shown as ********
    (its description is the SQL)."""

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
