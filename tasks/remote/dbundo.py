"""A database change's undo, kept like a file's backup (issue 23): before create-dbs changes the
application user's accounts, or set-admin-password the admin's UM_USER row, the SQL that puts
exactly those back is read from the server through the same route and admin login, and kept with the
run's backups on the step's host (`backups/<run>/sql/<n>-<step>.sql`, mode 0600, named in the signed
manifest). The run's rollback runs it through that route again. Databases and tables the steps
create are not undone (their data is the product's).

The SQL holds password hashes (never a password): it stays on the
host, mode 0600, and is never shown.
"""
from __future__ import annotations

import re

from .mysql import query

SUPER_TENANT = -1234


def account_undo(conn, user: str, hosts: list[str]) -> list[str]:
    """Statements that put the accounts user@host back as they are now: an absent one
    is dropped again, a present one recreated with its password hash (SHOW CREATE USER)
    and its grants (SHOW GRANTS)."""
    present = {r[0].lower(): r[0] for r in query(conn, "SELECT Host FROM mysql.user WHERE User = %s", (user,))}
    out = []
    for host in hosts:
        out.append(f"DROP USER IF EXISTS {conn.escape(user)}@{conn.escape(host)}")
        row = present.get(host.lower())
        if row is None:
            continue
        out += [r[0] for r in query(conn, "SHOW CREATE USER %s@%s", (user, row))]
        out += [r[0] for r in query(conn, "SHOW GRANTS FOR %s@%s", (user, row))]
    return out


def user_row_undo(conn, user_db: str, user: str) -> list[str]:
    """The statement that puts the user store row's hash and salt back (none when there is no such row)."""
    rows = query(conn, f"SELECT UM_USER_PASSWORD, UM_SALT_VALUE FROM `{user_db}`.UM_USER "
                       "WHERE UM_USER_NAME=%s AND UM_TENANT_ID=%s", (user, SUPER_TENANT))
    return [f"UPDATE `{user_db}`.UM_USER SET UM_USER_PASSWORD={conn.escape(h)}, UM_SALT_VALUE={conn.escape(s)} "
            f"WHERE UM_USER_NAME={conn.escape(user)} AND UM_TENANT_ID={SUPER_TENANT}" for h, s in rows]


def dump(statements: list[str]) -> bytes:
    """One statement a line (none holds a line break: SHOW output and escaped literals)."""
    return "".join(s.replace("\n", " ") + ";\n" for s in statements).encode("utf-8")


def statements(data: bytes) -> list[str]:
    return [line[:-1] for line in data.decode("utf-8").splitlines() if line.endswith(";")]


_DROP = re.compile(r"^DROP USER IF EXISTS '((?:[^'\\]|\\.)*)'@'((?:[^'\\]|\\.)*)'$")


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"0": "\0", "n": "\n", "r": "\r", "Z": "\x1a"}.get(m.group(1), m.group(1)), text)


def accounts_in(data: bytes) -> list[tuple[str, str]]:
    """The accounts (user, host) an account undo puts back (each begins with its DROP USER IF EXISTS)."""
    out = []
    for sql in statements(data):
        m = _DROP.match(sql)
        if m:
            out.append((_unescape(m.group(1)), _unescape(m.group(2))))
    return out


def recreated(data: bytes) -> set[tuple[str, str]]:
    """The accounts an account undo creates again (they existed before the run; the others it drops)."""
    out, current = set(), None
    for sql in statements(data):
        m = _DROP.match(sql)
        if m:
            current = (_unescape(m.group(1)), _unescape(m.group(2)))
        elif current and sql.upper().startswith("CREATE USER"):
            out.add(current)
    return out
