"""create-dbs' product SQL scripts (`Script`): split into statements, the tables they create, their SHA-256
and where they come from (a shipped script known by its digest, rules.py), and for any other script why it
may not run as the database admin (its first statement that is not schema, formats/sqlcheck.py). Pure: the
bytes are read by databases.py, the loads planned by dbplan.py."""
from __future__ import annotations

from dataclasses import dataclass

from ..formats.sqlcheck import check_script, digest
from ..formats.sqlscript import ScriptError, Statement, created_tables, split_statements
from ..rules import shipped_as

MAIN_SCRIPT = "dbscripts/mysql.sql"
IDENTITY_SCRIPT = "dbscripts/identity/mysql.sql"


@dataclass(frozen=True)
class Script:
    """A product SQL script: its statements, the tables it creates, where it was read (`where`,
    host:path, for messages), its SHA-256, where it comes from when known (`shipped`, e.g.
    "shipped 4.9.0") and, for another script, why it may not run as the admin (`refusal`: its
    first statement that is not schema, formats/sqlcheck.py)."""

    label: str
    statements: tuple[Statement, ...]
    tables: tuple[str, ...]
    where: str = ""
    sha256: str = ""
    shipped: str | None = None
    refusal: str | None = None

    @classmethod
    def parse(cls, label: str, data: bytes, where: str = "") -> "Script":
        """Split, read and check a script (`label`: its path in the product home); ScriptError when
        it creates no table. A leading UTF-8 byte order mark is no part of the statements (what is
        checked is what runs); the digest is of the bytes as read."""
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            text = data.decode("latin-1")
        text = text.removeprefix("\ufeff")
        directives: list[int] = []
        statements = split_statements(text, label, directives)
        tables = created_tables(statements)
        if not tables:
            raise ScriptError(f"{label} creates no table: not a product dbscript")
        where = where or label
        sha = digest(data)
        shipped = shipped_as(sha, label)
        bad = None if shipped else check_script(statements, directives, tables)
        refusal = None if bad is None else (
            f"{where} is not a shipped dbscript (sha256 {sha}) and its line {bad.line} ({bad.words} ...) is not "
            f"schema for the database: {bad.why}; it does not run as the database admin: put the product's own "
            f"script back")
        return cls(label, tuple(statements), tuple(tables), where, sha, shipped, refusal)

    @property
    def origin(self) -> str:
        """Where the script comes from, for the listing: "shipped 4.9.0", or "not shipped, N
        statements, all schema"."""
        return self.shipped or f"not shipped, {len(self.statements)} statements, all schema"
