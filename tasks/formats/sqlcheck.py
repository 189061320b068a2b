"""Whether a product dbscript may run as the database admin (create-dbs, issue 29).

create-dbs runs dbscripts/mysql.sql (and dbscripts/identity/mysql.sql) from the manager's product
home with the admin's rights, and a node's files are untrusted input. A script known by its
SHA-256 (`rules.SHIPPED_DBSCRIPTS` and `rules.shipped_as`, for the path it ships at) runs as it is; any other only when
every statement is schema for the one database it loads into:

- CREATE TABLE [IF NOT EXISTS] name (...) with plain table options (ENGINE InnoDB, MyISAM, Aria,
  MEMORY; charset, collation, comment, row format, auto-increment start);
- CREATE [UNIQUE] INDEX name [USING ...] ON one of the script's own tables (...);
- INSERT [IGNORE] INTO one of its own tables [(columns)] VALUES (literals), ...;
- ALTER TABLE one of its own tables ADD a key or a constraint (the foreign keys and unique
  constraints of the carbon-identity scripts), nothing else.

Refused in any of them: a name qualified by a database (`mysql.user`, `` `other`.`t` ``), a function
call or expression other than NOW()/CURRENT_TIMESTAMP() and type sizes, a query (SELECT, UNION),
files (OUTFILE, DUMPFILE, INFILE, LOAD_FILE, DATA/INDEX DIRECTORY), links to other servers
(CONNECTION, FEDERATED or CONNECT engines), accounts and variables (`@`), a second statement
inside one (`;`, which only a DELIMITER directive lets through), executable `/*! */` comments, and
every other statement (CREATE USER, GRANT, DROP, SET, ALTER USER, DELETE, UPDATE, CALL, LOAD,
SOURCE, DELIMITER ...). The check reads exactly the text create-dbs would send (the splitter's
statements: comments dropped, executable comments kept, and refused here), so nothing hidden
behind a comment runs unchecked. Keywords are matched in any case. Pure: no I/O.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Callable, NamedTuple

from .sqlscript import Statement, _quoted_end

TOKEN_RE = re.compile(r"(?P<ws>[ \t\r\n\f\v]+)"
                      r"|(?P<num>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w$\u0080-\U0010ffff]))"
                      r"|(?P<word>[\w$\u0080-\U0010ffff]+)"
                      r"|(?P<punct>[(),.=+-])")
WORD_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
NAME = ("word", "qid")

#: words that may stand before "(": column types, key words, VALUES, the two clock functions
TYPES = frozenset("""BIGINT BINARY BIT BLOB CHAR CHARACTER DATETIME DEC DECIMAL DOUBLE ENUM FLOAT INT INTEGER
    LONGBLOB LONGTEXT MEDIUMBLOB MEDIUMINT MEDIUMTEXT NCHAR NUMERIC NVARCHAR REAL SMALLINT TEXT TIME TIMESTAMP
    TINYBLOB TINYINT TINYTEXT VARBINARY VARCHAR YEAR""".split())
PAREN_WORDS = TYPES | {"KEY", "INDEX", "UNIQUE", "VALUES", "VALUE", "NOW", "CURRENT_TIMESTAMP"}
#: a name right after these is a table or an index name, which a "(" may follow
NAME_AFTER = frozenset({"TABLE", "EXISTS", "INTO", "ON", "REFERENCES", "KEY", "INDEX", "UNIQUE"})
#: words refused anywhere outside strings and backquotes, and why
DENIED = {
    "SELECT": "a query (SELECT)", "UNION": "a query (UNION)",
    "OUTFILE": "a file written on the database server", "DUMPFILE": "a file written on the database server",
    "INFILE": "a file read on the database server", "LOAD_FILE": "a file read on the database server",
    "DIRECTORY": "files outside the server's data directory (DATA/INDEX DIRECTORY)",
    "CONNECTION": "a link to another server (CONNECTION)", "DEFINER": "code run as another account (DEFINER)",
    "IDENTIFIED": "an account's password", "SLEEP": "a function call", "BENCHMARK": "a function call",
}
ENGINES = frozenset({"INNODB", "MYISAM", "ARIA", "MEMORY", "HEAP"})
TABLE_OPTIONS = frozenset({"AUTO_INCREMENT", "ROW_FORMAT", "COMMENT", "CHARSET", "COLLATE", "KEY_BLOCK_SIZE"})
VALUE_WORDS = frozenset({"NULL", "TRUE", "FALSE", "DEFAULT", "NOW", "CURRENT_TIMESTAMP"})
ADDABLE = frozenset({"CONSTRAINT", "FOREIGN", "UNIQUE", "PRIMARY", "INDEX", "KEY"})
#: why the usual non-schema statements are refused (by their first word, or first two)
NOT_SCHEMA = {
    "CREATE USER": "it creates an account", "CREATE DATABASE": "it creates another database",
    "CREATE SCHEMA": "it creates another database", "CREATE PROCEDURE": "it creates code run later",
    "CREATE FUNCTION": "it creates code run later", "CREATE TRIGGER": "it creates code run later",
    "CREATE EVENT": "it creates code run later", "CREATE SERVER": "it links another server",
    "CREATE VIEW": "it creates a view", "CREATE ROLE": "it creates a role",
    "GRANT": "it grants privileges", "REVOKE": "it changes privileges", "DROP": "it drops",
    "SET": "it sets a variable or a password", "ALTER": "it alters more than the script's own tables",
    "DELETE": "it deletes rows", "UPDATE": "it changes rows", "REPLACE": "it replaces rows",
    "TRUNCATE": "it empties a table", "CALL": "it calls a procedure", "LOAD": "it loads a file",
    "SELECT": "a query (SELECT ... INTO OUTFILE writes files)", "SOURCE": "a mysql client command",
    "CREATE": "it creates something other than a table or an index",
    "USE": "it switches to another database", "RENAME": "it renames", "INSTALL": "it installs a plugin",
    "FLUSH": "it flushes server state", "DO": "it evaluates expressions", "EXECUTE": "it runs a prepared statement",
    "PREPARE": "it prepares a statement", "HANDLER": "it reads a table", "KILL": "it kills a connection",
    "SHUTDOWN": "it stops the server", "LOCK": "it locks tables", "WITH": "a query (WITH)",
}


class Tok(NamedTuple):
    """One token of a statement: kind (word, qid = backquoted name, str, num, punct) and text
    (a backquoted name without its quotes)."""

    kind: str
    text: str

    @property
    def word(self) -> str:
        """The keyword this token is (upper case), "" for anything but a bare word."""
        return self.text.upper() if self.kind == "word" else ""


class Refused(Exception):
    """A statement is not schema; the message says why (names only, never a string's content)."""


@dataclass(frozen=True)
class Refusal:
    """The first statement (or DELIMITER directive) of a script that is not schema."""

    line: int
    words: str  # its first words, no string literal
    why: str


def digest(data: bytes) -> str:
    """SHA-256 of a script's bytes, hex."""
    return hashlib.sha256(data).hexdigest()


def check_script(statements: list[Statement] | tuple[Statement, ...], directives: list[int],
                 tables: list[str] | tuple[str, ...]) -> Refusal | None:
    """The first statement (by line) that is not schema for the database the script loads into,
    or None when every one is; `directives` are the lines of its DELIMITER directives and
    `tables` the tables it creates (its own, which INSERT, CREATE INDEX and ALTER may name)."""
    own = {t.lower() for t in tables}
    found = [Refusal(line, "DELIMITER", "a DELIMITER directive: procedure or trigger bodies are not schema")
             for line in directives[:1]]
    for st in statements:
        why = check_statement(st.text, own)
        if why:
            found.append(Refusal(st.line, first_words(st.text), why))
            break
    return min(found, key=lambda r: r.line) if found else None


def check_statement(text: str, own: set[str]) -> str | None:
    """Why one statement is not schema for its database (None: it is); `own` are the lower-case
    names of the tables its script creates."""
    try:
        toks = tokens(text)
    except Refused as e:  # why, by its first words when they already say it is no schema
        lead = [w.upper() for w in first_words(text).split()] + [""] * 3
        return str(e) if _shape(lead)[0] or text.lstrip().startswith("/*") else _not_schema(lead)
    kw = [t.word for t in toks] + [""] * 4  # padded: shapes look a few words ahead
    shape, prefix = _shape(kw)
    if shape is None:
        return _not_schema(kw)
    try:
        _anywhere(toks, prefix)
        shape(toks, kw, own)
    except Refused as e:
        return str(e)
    except IndexError:
        return "an incomplete statement"
    return None


def _shape(kw: list[str]) -> tuple[Callable[[list[Tok], list[str], set[str]], None] | None, bool]:
    """The rule of a statement by its first keywords, and whether key parts may have prefix
    lengths; (None, False) for a statement that is no schema."""
    if kw[:2] == ["CREATE", "TABLE"]:
        return _create_table, True
    if kw[:2] == ["CREATE", "INDEX"] or kw[:3] == ["CREATE", "UNIQUE", "INDEX"]:
        return _create_index, True
    if kw[0] == "INSERT":
        return _insert, False
    if kw[:2] == ["ALTER", "TABLE"]:
        return _alter_table, True
    return None, False


def _not_schema(kw: list[str]) -> str:
    return NOT_SCHEMA.get(" ".join(kw[:2])) or NOT_SCHEMA.get(kw[0]) or "not schema for the database"


def tokens(text: str) -> list[Tok]:
    """The tokens of a statement (whitespace dropped); Refused for an executable comment or a
    character no table schema needs (`;`, `@`, operators ...)."""
    out: list[Tok] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c in "'\"`":
            j = _quoted_end(text, i, "statement", 0)
            body = text[i + 1:j - 1]
            out.append(Tok("qid", body.replace("``", "`")) if c == "`" else Tok("str", body))
            i = j
            continue
        if text.startswith("/*", i):
            raise Refused("an executable comment /*! ... */, which hides a statement from a reader")
        if text.startswith("--", i):  # the server ends a statement's line there before any control character
            raise Refused("'--', which the server may read as a comment where a reader does not")
        m = TOKEN_RE.match(text, i)
        if not m:
            raise Refused({";": "a second statement inside this one (';', let through by a DELIMITER)",
                           "@": "an account or a variable ('@')"}.get(c, f"the character {c!r}, which no "
                                                                        f"table schema needs"))
        if m.lastgroup != "ws":
            out.append(Tok(m.lastgroup or "", m.group()))
        i = m.end()
    return out


def first_words(text: str, n: int = 3) -> str:
    """The statement's first few bare words (keywords, names), never a quoted string."""
    words: list[str] = []
    for piece in re.split(r"[ \t\r\n\f\v]+", text.strip(" \t\r\n\f\v")):
        m = WORD_RE.match(piece)
        if m:
            words.append(m.group()[:40])
        if not m or m.end() < len(piece) or len(words) == n:
            break
    if not words:
        return "/*!" if text.lstrip().startswith("/*!") else "..."
    return " ".join(words)


# ---------------------------------------------------------------- the rules

def _anywhere(toks: list[Tok], prefix_lengths: bool) -> None:
    """The rules of every statement: no database qualifier, no denied word, no call or expression."""
    for k, t in enumerate(toks):
        if t.kind == "punct" and t.text == ".":
            before = toks[k - 1].text if k else ""
            after = toks[k + 1].text if k + 1 < len(toks) else ""
            raise Refused(f"a name qualified by a database ({before}.{after}): a script touches only "
                          f"its own database")
        if t.word in DENIED:
            raise Refused(f"{DENIED[t.word]} ({t.word})")
        if t.kind in NAME and k + 1 < len(toks) and toks[k + 1] == Tok("punct", "("):
            prev = toks[k - 1] if k else Tok("", "")
            if t.word in PAREN_WORDS or prev.word in NAME_AFTER:
                continue
            if prefix_lengths and prev.text in ("(", ",") and prev.kind == "punct" and \
                    toks[k + 2:k + 4] and toks[k + 2].kind == "num" and toks[k + 3:k + 4] == [Tok("punct", ")")]:
                continue  # a key part's prefix length: KEY (NAME(255))
            raise Refused(f"a function call or expression ({t.text}(...))")


def _close(toks: list[Tok], k: int) -> int:
    """Index of the ")" that closes the "(" at k."""
    depth = 0
    for j in range(k, len(toks)):
        if toks[j].kind == "punct" and toks[j].text in "()":
            depth += 1 if toks[j].text == "(" else -1
            if depth == 0:
                return j
    raise Refused("a parenthesis never closed")


def _own(toks: list[Tok], k: int, own: set[str], what: str) -> int:
    """The index after the table name at k, which must be one the script creates."""
    if k >= len(toks) or toks[k].kind not in NAME:
        raise Refused(f"{what} without a table name")
    if toks[k].text.lower() not in own:
        raise Refused(f"{what} {toks[k].text}, a table this script does not create")
    return k + 1


def _open_at(toks: list[Tok], k: int, missing: str) -> int:
    if k >= len(toks) or toks[k] != Tok("punct", "("):
        raise Refused(missing)
    return _close(toks, k)


def _create_table(toks: list[Tok], kw: list[str], own: set[str]) -> None:
    k = 5 if kw[2:5] == ["IF", "NOT", "EXISTS"] else 2
    if k >= len(toks) or toks[k].kind not in NAME:
        raise Refused("CREATE TABLE without a table name")
    end = _open_at(toks, k + 1, "CREATE TABLE without its column list (LIKE, AS ...)")
    _table_options(toks[end + 1:])


def _table_options(rest: list[Tok]) -> None:
    i = 0
    while i < len(rest):
        w = rest[i].word
        if rest[i] == Tok("punct", ",") or w == "DEFAULT":
            i += 1
            continue
        if w == "CHARACTER" and i + 1 < len(rest) and rest[i + 1].word == "SET":
            i += 1
        elif w in ("ENGINE", "TYPE"):
            j = i + 2 if i + 1 < len(rest) and rest[i + 1] == Tok("punct", "=") else i + 1
            if j >= len(rest) or rest[j].text.upper() not in ENGINES:
                raise Refused(f"the table engine {rest[j].text if j < len(rest) else '(none)'} "
                              f"(InnoDB, MyISAM, Aria or MEMORY only)")
        elif w not in TABLE_OPTIONS:
            raise Refused(f"the table option {first_words(rest[i].text)} (engine, charset, collation, "
                          f"comment, row format and auto-increment only)")
        j = i + 2 if i + 1 < len(rest) and rest[i + 1] == Tok("punct", "=") else i + 1
        if j >= len(rest) or rest[j].kind not in ("word", "num", "str", "qid"):
            raise Refused(f"the table option {w} without its value")
        i = j + 1


def _create_index(toks: list[Tok], kw: list[str], own: set[str]) -> None:
    k = 3 if kw[1] == "UNIQUE" else 2
    k += 3 if kw[k:k + 3] == ["IF", "NOT", "EXISTS"] else 0
    if k >= len(toks) or toks[k].kind not in NAME:
        raise Refused("CREATE INDEX without an index name")
    k += 1
    if kw[k] == "USING":
        k += 2
    if kw[k] != "ON":
        raise Refused("CREATE INDEX without ON a table")
    end = _open_at(toks, _own(toks, k + 1, own, "an index on"), "CREATE INDEX without its columns")
    rest = toks[end + 1:]
    for i in range(0, len(rest), 2):
        if rest[i].word not in ("USING", "COMMENT") or i + 1 >= len(rest):
            raise Refused(f"{first_words(rest[i].text)} after an index's columns (USING and COMMENT only)")


def _insert(toks: list[Tok], kw: list[str], own: set[str]) -> None:
    k = 2 if kw[1] == "IGNORE" else 1
    if kw[k] != "INTO":
        raise Refused("INSERT without INTO")
    k = _own(toks, k + 1, own, "INSERT INTO")
    if k < len(toks) and toks[k] == Tok("punct", "("):
        end = _close(toks, k)
        if any(t.kind not in NAME and t != Tok("punct", ",") for t in toks[k + 1:end]):
            raise Refused("INSERT with something other than names in its column list")
        k = end + 1
    if kw[k] not in ("VALUES", "VALUE"):
        raise Refused("INSERT without VALUES (INSERT ... SELECT, INSERT ... SET)")
    k += 1
    while True:
        end = _open_at(toks, k, "INSERT ... VALUES without a row in parentheses")
        for i in range(k + 1, end):
            t = toks[i]
            literal = t.word in VALUE_WORDS or t.kind in ("str", "num", "punct") or (
                t.kind == "word" and i + 1 < end and toks[i + 1].kind == "str" and
                (t.word in ("N", "X", "B") or t.word.startswith("_")))  # N'..', X'..', _utf8'..'
            if not literal:
                raise Refused(f"a value that is not a literal ({t.text})")
        k = end + 1
        if k == len(toks):
            return
        if toks[k] != Tok("punct", ","):
            raise Refused(f"{toks[k].text} after the values (ON DUPLICATE KEY UPDATE, RETURNING ...)")
        k += 1


def _alter_table(toks: list[Tok], kw: list[str], own: set[str]) -> None:
    k = _own(toks, 2, own, "ALTER TABLE")
    parts: list[list[Tok]] = [[]]
    depth = 0
    for t in toks[k:]:
        if t.kind == "punct" and t.text in "()":
            depth += 1 if t.text == "(" else -1
        if depth == 0 and t == Tok("punct", ","):
            parts.append([])
        else:
            parts[-1].append(t)
    for part in parts:
        if len(part) < 2 or part[0].word != "ADD" or part[1].word not in ADDABLE:
            raise Refused("ALTER TABLE that does more than ADD a key or a constraint")
