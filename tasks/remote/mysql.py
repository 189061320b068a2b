"""MySQL/MariaDB access for create-dbs: a Route to the server (direct TCP, or a direct-tcpip channel
over a host's SSH connection), PyMySQL connections with clear errors, and small SQL helpers.

Identifiers are validated and backtick-quoted here; account names, passwords and every other
value go to the server as query parameters (PyMySQL escapes them), never spliced by hand.
Error messages never hold a password (they pass through `redact`).
"""
from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..config import Host, Inventory
from ..schema import IDENT_RE
from .common import RemoteError
from .protocol import NodeReads
from ..secrets import redact
from ..formats.sqlscript import Statement

if TYPE_CHECKING:
    import pymysql


def driver():
    """PyMySQL, imported when the run first opens a connection or reads a result: a command that never
    reaches a database never loads it (`fab --list`, the lifecycle)."""
    import pymysql
    import pymysql.cursors
    return pymysql

#: session sql_mode for loading the product scripts: no strict mode, no NO_ZERO_DATE, so
#: `TIMESTAMP ... DEFAULT 0` is accepted on MariaDB 10.x, MySQL 5.7 and 8.0
LOAD_SQL_MODE = "NO_ENGINE_SUBSTITUTION"
GRANT_RE = re.compile(r"^GRANT\s+(.+?)\s+ON\s+(\*|`(?:[^`]|``)+`|[\w$]+)\.\*\s+TO\s", re.I | re.S)
CLIENT_ERRORS = (2003, 2005, 2006, 2013)  # can't connect, unknown host, gone away, lost connection


class DbError(Exception):
    """The database refused or failed an operation; the message says which and why (no secrets)."""


class DbUnreachable(DbError):
    """No connection to the server could be made."""


class AccessDenied(DbError):
    """The server refused the user name or password."""


def quote_ident(name: str) -> str:
    """`name`, after checking it is a plain identifier (letters, digits, _)."""
    if not IDENT_RE.match(name):
        raise DbError(f"{name!r} is not a plain identifier (letters, digits, _)")
    return f"`{name}`"


def native_password_hash(password: str) -> str:
    """What mysql_native_password stores for a password: '*' + SHA1(SHA1(pw)) in upper-case hex."""
    return "*" + hashlib.sha1(hashlib.sha1(password.encode()).digest()).hexdigest().upper()


def all_privilege_dbs(grant_lines: list[str]) -> set[str]:
    """Databases a SHOW GRANTS result gives ALL PRIVILEGES on ("*" for *.*)."""
    out = set()
    for line in grant_lines:
        m = GRANT_RE.match(line)
        if m and re.fullmatch(r"ALL(\s+PRIVILEGES)?", m.group(1).strip(), re.I):
            db = m.group(2)
            if db.startswith("`"):
                db = db[1:-1].replace("``", "`")
            out.add(db.replace("\\_", "_").replace("\\%", "%"))
    return out


def is_loopback(address: str) -> bool:
    """True for an IP address of the loopback network (127.0.0.0/8, ::1)."""
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


@dataclass
class Route:
    """How to reach the server: `dests` (first that answers) on `port`, through `via`'s SSH when set."""

    dests: tuple[str, ...]
    port: int
    via: NodeReads | None = None  # only its channel is used
    timeout: int = 10
    op_timeout: float = 30  # the most one reply of the server may take ([run].op_timeout)
    used: str | None = field(default=None, init=False)  # the dest that answered

    @property
    def label(self) -> str:
        return self.where(self.used or "/".join(self.dests))

    def where(self, dest: str) -> str:
        """dest:port, and the SSH hop when tunnelled (for messages)."""
        return f"{dest}:{self.port}" + (f" through SSH to {self.via.host.name}" if self.via else "")

    @property
    def local(self) -> bool:
        """True when the server answers on this machine's loopback (so a loopback source can be chosen)."""
        dest = self.used or self.dests[0]
        return is_loopback(dest) and (self.via is None or is_loopback(self.via.host.address))

    def connect(self, user: str, password: str, bind_address: str | None = None) -> pymysql.Connection:
        """A connection as user (autocommit); DbUnreachable or AccessDenied with a clear message."""
        if bind_address is not None:
            return self._open(self.used or self.dests[0], user, password, None, bind_address)
        last: Exception | None = None
        for dest in ([self.used] if self.used else list(self.dests)):
            try:
                sock = self.via.open_channel(dest, self.port, self.timeout) if self.via else None
                conn = self._open(dest, user, password, sock, None)
                self.used = dest
                return conn
            except (RemoteError, DbUnreachable) as e:
                last = e
        raise DbUnreachable(f"database unreachable at {self.label}: {last}")

    def _open(self, dest: str, user: str, password: str, sock, bind: str | None) -> pymysql.Connection:
        # the password as UTF-8 bytes, as Connector/J sends it (PyMySQL would encode a str as
        # Latin-1: a non-ASCII password never matched what CREATE USER stored, and '€' raised
        # an error quoting it) through an SSH channel the link is encrypted already: no TLS
        # on top (PyMySQL would build a TLS context for every connection); a direct
        # connection keeps PyMySQL's preferred TLS
        pymysql = driver()
        conn = pymysql.connect(host=dest, port=self.port, user=user, password=password.encode("utf-8"),
                               autocommit=True, charset="utf8mb4", connect_timeout=self.timeout, bind_address=bind,
                               read_timeout=self.op_timeout, write_timeout=self.op_timeout, defer_connect=True,
                               ssl_disabled=sock is not None)
        from pymysql.constants import ER
        try:
            conn.connect(sock)
        except pymysql.err.OperationalError as e:
            code = e.args[0] if e.args else 0
            msg = redact(str(e.args[1] if len(e.args) > 1 else e))
            if code == ER.ACCESS_DENIED_ERROR:
                raise AccessDenied(f"access denied for {user!r} at {self.where(dest)}: {msg}") from None
            if code in CLIENT_ERRORS:
                raise DbUnreachable(msg) from None
            raise DbError(f"{self.where(dest)}: {msg}") from None
        except OSError as e:
            raise DbUnreachable(str(e)) from None
        return conn


def route_for(inv: Inventory, host: Host, via: NodeReads) -> Route:
    """[database].host:port, directly or (tunnel = true) through this host's SSH connection (`via`): the
    database route of create-dbs, set-admin-password and rollback."""
    d = inv.database
    node = inv.hosts.get(d.host or host.name)
    address = node.address if node else d.host
    if not d.tunnel:
        return Route((address,), d.port, timeout=host.connect_timeout, op_timeout=inv.run.op_timeout)
    here = address == host.address
    dests = tuple(dict.fromkeys(("127.0.0.1", address) if here else (address,)))
    return Route(dests, d.port, via=via, timeout=host.connect_timeout, op_timeout=inv.run.op_timeout)


def account_label(user: str, host: str) -> str:
    """'user'@'host', as the server names an account."""
    return f"'{user}'@'{host}'"


def account_password(route: Route, user: str, host: str, row: dict, password: str) -> tuple[str | None, list[str]]:
    """Whether the existing account user@host (its mysql.user `row`) takes `password`: "ok", "login
    refused" or "stored hash differs" (None: not checked), by a real login where a connection can
    come from its host (a loopback source on this machine, or '%'), else by the stored
    mysql_native_password hash; and notes for what could not be checked."""
    notes: list[str] = []
    bind = host if route.local and is_loopback(host) else None
    if bind or host == "%":
        try:
            route.connect(user, password, bind_address=bind).close()
            return "ok", notes
        except AccessDenied:
            return "login refused", notes
        except DbError as e:
            notes.append(f"login as {account_label(user, host)} not tried: {e}")
    stored = row.get("authentication_string") or row.get("Password") or ""
    if row.get("plugin") in ("mysql_native_password", "", None) and stored.startswith("*"):
        return ("ok" if stored == native_password_hash(password) else "stored hash differs"), notes
    notes.append(f"password of {account_label(user, host)} not checked (plugin {row.get('plugin')}; "
                 f"no connection can come from {host} here)")
    return None, notes


def passwords_off(conn, route: Route, user: str, hosts: list[str], password: str) -> tuple[list[str], list[str]]:
    """Of the accounts user@host that exist, those whose password is not `password` (WSO2_DB_PASSWORD:
    the one .env and the nodes' files agree on), checked as create-dbs checks them; and notes for the
    accounts that could not be checked. A read of the server only."""
    rows = {r["Host"].lower(): r for r in query(conn, "SELECT * FROM mysql.user WHERE User = %s", (user,),
                                                  dicts=True)}
    off: list[str] = []
    notes: list[str] = []
    for h in dict.fromkeys(rows[h.lower()]["Host"] for h in hosts if h.lower() in rows):
        verdict, more = account_password(route, user, h, rows[h.lower()], password)
        notes += more
        if verdict in ("login refused", "stored hash differs"):
            off.append(account_label(user, h))
    return off, notes


def query(conn: pymysql.Connection, sql: str, args=None, dicts: bool = False) -> list:
    """Rows of a read (tuples, or dicts by column name); DbError with the server's message on failure."""
    pymysql = driver()
    try:
        with conn.cursor(pymysql.cursors.DictCursor if dicts else None) as cur:
            cur.execute(sql, args)
            return list(cur.fetchall())
    except pymysql.MySQLError as e:
        raise DbError(redact(f"{sql.split()[0]} failed: {e.args[-1] if e.args else e}")) from None


def execute(conn: pymysql.Connection, sql: str, args=None, what: str | None = None) -> None:
    """Run one change; DbError naming `what` (or the statement's verb) on failure."""
    pymysql = driver()
    try:
        with conn.cursor() as cur:
            cur.execute(sql, args)
    except pymysql.MySQLError as e:
        raise DbError(redact(f"{what or sql.split()[0]} failed: {e.args[-1] if e.args else e}")) from None


def run_script(conn: pymysql.Connection, db: str, statements: list[Statement], label: str) -> None:
    """Run a product script's statements into db, with the tolerant LOAD_SQL_MODE for this session."""
    pymysql = driver()
    conn.select_db(db)
    execute(conn, "SET SESSION sql_mode = %s", (LOAD_SQL_MODE,))
    for s in statements:
        try:
            with conn.cursor() as cur:
                cur.execute(s.text)  # no args: the text goes as is, '%' included
        except pymysql.MySQLError as e:
            raise DbError(redact(f"{label} into {db}: the statement at line {s.line} ({s.head()}) failed: "
                                 f"{e.args[-1] if e.args else e}; {db} is now partly loaded")) from None


#: the suffix of the database a product script is loaded into before its tables move to their own
#: (stage_name): the project's by its name, dropped and made again by the next load
STAGE_SUFFIX = "__esbload"


def stage_name(db: str) -> str:
    """The staging database of `db` (a plain identifier of at most 64 characters)."""
    name = db + STAGE_SUFFIX
    return name if len(name) <= 64 else "esbload_" + hashlib.sha256(db.encode()).hexdigest()[:32]


def tables_of(conn: pymysql.Connection, db: str) -> list[str]:
    """The tables of a database, as the server names them."""
    with conn.cursor() as cur:
        cur.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME",
                    (db,))
        return [r[0] for r in cur.fetchall()]


def load_staged(conn: pymysql.Connection, db: str, charset: str, statements: list[Statement], label: str) -> None:
    """Load a product script so that a load cut off anywhere (kill -9, a lost connection, a failed
    statement) never leaves `db` half-loaded: the script runs into a fresh staging database
    (stage_name(db): a leftover of an interrupted load is dropped first), then every table it made moves
    into `db` with one RENAME TABLE (all or none; foreign keys follow their tables), and the empty
    staging database is dropped. `db` holds all of the script's tables or none of them."""
    stage = quote_ident(stage_name(db))
    execute(conn, f"DROP DATABASE IF EXISTS {stage}", what=f"DROP DATABASE {stage} (a load interrupted earlier)")
    execute(conn, f"CREATE DATABASE {stage} CHARACTER SET %s", (charset,), what=f"CREATE DATABASE {stage}")
    try:
        run_script(conn, stage_name(db), statements, label)
    except DbError as e:
        said = str(e).replace(f"{label} into {stage_name(db)}:", f"{label} into {db}:", 1).replace(
            f"; {stage_name(db)} is now partly loaded", f"; {db} is unchanged (the statements before it are in "
                                                         f"{stage_name(db)}; a rerun drops it and loads again)")
        raise DbError(said) from None
    made = tables_of(conn, stage_name(db))
    clash = set(t.lower() for t in made) & set(t.lower() for t in tables_of(conn, db))
    if clash:
        raise DbError(f"{db} gained tables since the plan ({', '.join(sorted(clash))}); {label} not moved there "
                      f"(it stays in {stage_name(db)})")
    if made:
        target = quote_ident(db)
        execute(conn, "RENAME TABLE " + ", ".join(f"{stage}.{quote_ident(t)} TO {target}.{quote_ident(t)}"
                                                  for t in made), what=f"RENAME TABLE into {target}")
    conn.select_db(db)
    execute(conn, f"DROP DATABASE IF EXISTS {stage}", what=f"DROP DATABASE {stage}")
