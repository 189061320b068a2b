"""create-dbs' pure part: what hosts.toml wants of the database server (`Wanted`, with the product
scripts of dbscript.py), what the server holds (a `State` snapshot), the changes that close the gap
(the `Op` records, each describing itself and running on the admin connection) and `plan_databases`,
which computes them with the drift items and the errors that forbid patching (a half-loaded database,
a foreign table in a database to load, a wrong charset under tables). Nothing is ever dropped.
Reading the server and the step itself are databases.py."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, ClassVar

from ..engine.context import StepError
from ..engine.plan import Item
from ..remote.mysql import account_label, execute, load_staged, query, quote_ident, stage_name
from .dbscript import Script

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
    #: the application user's accounts for hosts no node of
    #: hosts.toml has (a node removed: scale in)
    strays: tuple[str, ...] = ()
    #: how the server keeps an old password beside a new one: "mariadb", "mysql" or "" (it cannot)
    dual: str = ""
    #: the application user's open connections: (id, client host:port, database)
    sessions: tuple[tuple[int, str, str | None], ...] = ()
    #: the databases whose staging database (stage_name) exists: a load was cut off there
    stages: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Op:
    """One change of the server for the wanted state: a kind of its own per class (`kind` names
    it), what it says in a dry-run (`describe`, every password as ********) and what it runs
    (`run`, on the admin connection)."""

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
    """A product script loaded into a database through its staging database (mysql.load_staged): the
    database ends with all of the script's tables or none, whatever cuts the load off."""

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
        load_staged(conn, self.db, w.charset, list(sc.statements), sc.label)


class DropStage(Op):
    """A staging database an interrupted load left (stage_name), where nothing is left to load."""

    kind = "drop-stage"

    def describe(self, w: Wanted) -> str:
        return f"DROP DATABASE {quote_ident(stage_name(self.db))}  (left by an interrupted load of {self.db})"

    def run(self, conn, w: Wanted, password) -> None:
        execute(conn, f"DROP DATABASE IF EXISTS {quote_ident(stage_name(self.db))}", what="DROP DATABASE")


class CreateUser(Op):
    kind, account = "create-user", True

    def describe(self, w: Wanted) -> str:
        return f"CREATE USER IF NOT EXISTS {account_label(w.user, self.host)} IDENTIFIED BY '********'"

    def run(self, conn, w: Wanted, password) -> None:
        execute(conn, "CREATE USER IF NOT EXISTS %s@%s IDENTIFIED BY %s", (w.user, self.host, password()),
                "CREATE USER")


class AlterUser(Op):
    """WSO2_DB_PASSWORD for an existing account; where the server can (`dual`), its current
    password stays accepted beside it."""

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
        using = [c for c in s.sessions if account_matches(host, c[1])]
        if using:  # a server still runs with it: dropping it would cut that server off the database
            conns = ", ".join(f"connection {i} from {client}" + (f" ({db})" if db else "") for i, client, db in using)
            out.errors.append(f"user {account_label(w.user, host)} is in use ({conns}): not dropped; stop the server "
                              f"that uses it (no node of hosts.toml has that address), or put the node back in "
                              f"hosts.toml, then run create-dbs again")
            continue
        out.ops.append(DropUser(host=host))
    out.notes += load_listing(out.ops)
    refused = dict.fromkeys(sc.refusal for scripts in w.loads.values() for sc in scripts if sc.refusal)
    out.notes += [f"{why} (nothing runs it now: every database holds its tables)"
                  for why in refused if why not in out.errors]
    return out


def load_listing(ops: list[Op]) -> list[str]:
    """What the loads would run, script by script: where it was read, its SHA-256, where it comes
    from, its statement count and the databases it loads into; each statement (its first line)
    of a script that is not a known one, so that the operator sees what runs as the admin."""
    into: dict[str, list[str]] = {}
    scripts: dict[str, Script] = {}
    for op in ops:
        if isinstance(op, Load):
            scripts.setdefault(op.loaded.where, op.loaded)
            into.setdefault(op.loaded.where, []).append(op.db)
    notes = []
    for where, sc in scripts.items():
        notes.append(f"{sc.label}: {where}, sha256 {sc.sha256}, {sc.origin}; {len(sc.statements)} statements "
                     f"into each of {', '.join(into[where])}")
        if not sc.shipped:
            notes += [f"{sc.label} line {st.line}: {st.head(90)}" for st in sc.statements]
    return notes


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
            elif script.refusal:
                if script.refusal not in out.errors:
                    out.errors.append(script.refusal)
            else:
                out.ops.append(Load(db, script=script))
        earlier |= set(want)
    if db in s.stages:
        leftover = f"{stage_name(db)}, left by a load cut off (kill, lost connection)"
        if any(isinstance(op, Load) and op.db == db for op in out.ops):
            out.notes.append(f"{leftover}: dropped, and {db} loaded again")
        else:
            out.items.append(Item(label, "staging database", "absent", leftover))
            out.ops.append(DropStage(db))


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


def _version_tuple(version: str) -> tuple[int, ...]:
    m = re.match(r"(\d+)\.(\d+)(?:\.(\d+))?", version)
    return tuple(int(x) for x in m.groups(default="0")) if m else (0,)


def alter_password_sql(dual: str, keep_old: bool) -> str:
    """The ALTER USER (parameters: user, host, password[, the old hash]) that sets WSO2_DB_PASSWORD;
    with keep_old the account goes on accepting its current password too (MariaDB: the current hash
    as a second mysql_native_password credential; MySQL 8: RETAIN CURRENT PASSWORD)."""
    if keep_old and dual == "mariadb":
        return ("ALTER USER %s@%s IDENTIFIED VIA mysql_native_password USING PASSWORD(%s) "
                "OR mysql_native_password USING %s")
    if keep_old and dual == "mysql":
        return "ALTER USER %s@%s IDENTIFIED BY %s RETAIN CURRENT PASSWORD"
    return "ALTER USER %s@%s IDENTIFIED BY %s"


def account_matches(pattern: str, client: str) -> bool:
    """The account host `pattern` (MySQL's: % any run, _ one character, case-insensitive) covers the
    client of a connection (`host:port` as the processlist shows it, or a bare host)."""
    host = client.rsplit(":", 1)[0] if client.count(":") == 1 or client.startswith("[") else client
    host = host.strip("[]")
    rx = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in pattern)
    return re.fullmatch(rx, host, re.I) is not None


def retire_sql(dual: str) -> str:
    """The ALTER USER that leaves only the current password (MariaDB: set again, one credential;
    MySQL 8: DISCARD OLD PASSWORD; parameters as alter_password_sql's without the old hash)."""
    return "ALTER USER %s@%s DISCARD OLD PASSWORD" if dual == "mysql" else "ALTER USER %s@%s IDENTIFIED BY %s"


def current_hash(conn, user: str, host: str) -> str | None:
    """The account's mysql_native_password hash now (the credential a running node still uses), or
    None when it has none (another plugin: nothing to keep)."""
    rows = query(conn, "SELECT plugin, authentication_string FROM mysql.user WHERE User = %s AND Host = %s",
                 (user, host))
    if rows and rows[0][0] in ("mysql_native_password", "") and str(rows[0][1] or "").startswith("*"):
        return str(rows[0][1])
    return None
