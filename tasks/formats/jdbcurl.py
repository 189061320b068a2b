"""MySQL JDBC URLs as Carbon's datasources write them
(jdbc:mysql://host[:port]/database[?params]): built from their parts by configure-datasources and
read back into them by the live checks, in one place (pure)."""
from __future__ import annotations

import re

#: MySQL's port when a URL names none
DEFAULT_PORT = 3306
_MYSQL = re.compile(r"^jdbc:mysql://([^/:?;]+)(?::(\d+))?/([^?;]*)")


def mysql_url(host: str, port: int, database: str, params: str = "") -> str:
    """jdbc:mysql://<host>:<port>/<database>?<params> (no '?' when there are no parameters)."""
    url = f"jdbc:mysql://{host}:{port}/{database}"
    return f"{url}?{params}" if params else url


def mysql_target(url: str | None) -> tuple[str, int, str] | None:
    """(host, port, database) of a jdbc:mysql URL, else None (another driver's URL, or none)."""
    m = _MYSQL.match(url or "")
    return (m.group(1), int(m.group(2) or DEFAULT_PORT), m.group(3)) if m else None
