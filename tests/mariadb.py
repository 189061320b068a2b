"""A real MariaDB server for the tests: `mariadb-install-db` into a temp dir, `mariadbd` on 127.0.0.1
and a free port, real authentication (the root password is set over the socket first).

The server defaults to utf8mb4 (as Debian and MySQL 8 do) so that create-dbs must ask for latin1.
Test-side helpers reset it (drop the step's databases and the application user) and read its
Com_* counters (to prove that a run executed no SQL beyond reads).
"""
from __future__ import annotations

import secrets
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pymysql

from tests.lab import free_port

DATABASES = ("WSO2_USER_DB", "REGISTRY_DB", "REGISTRY_LOCAL1", "REGISTRY_LOCAL2")
APP_USER = "regadmin"
#: Com_* counters a read-only run may move (queries, SHOW, SET NAMES/sql_mode, USE, ping/quit)
READ_COUNTERS = {"Com_select", "Com_set_option", "Com_change_db", "Com_admin_commands", "Com_empty_query"}


def _bin(name: str, alt: str) -> str:
    return shutil.which(name) or shutil.which(alt) or f"/usr/sbin/{name}"


@dataclass
class MariaDB:
    dir: Path
    port: int
    root_password: str
    proc: subprocess.Popen | None = None

    @property
    def socket(self) -> str:
        return str(self.dir / "sock")

    @classmethod
    def start(cls) -> "MariaDB":
        """Install a data dir, start the server, set the root password; ready for TCP logins."""
        d = Path(tempfile.mkdtemp(prefix="esb-mariadb-"))
        db = cls(d, free_port("127.0.0.1"), "root-" + secrets.token_hex(8))
        small = ["--innodb-log-file-size=8M", "--innodb-buffer-pool-size=32M"]
        subprocess.run([_bin("mariadb-install-db", "mysql_install_db"), "--no-defaults", "--user=root",
                        f"--datadir={d / 'data'}", "--auth-root-authentication-method=normal",
                        "--skip-test-db", *small], check=True, capture_output=True)
        db.proc = subprocess.Popen(
            [_bin("mariadbd", "mysqld"), "--no-defaults", "--user=root", f"--datadir={d / 'data'}",
             f"--socket={db.socket}", "--bind-address=127.0.0.1", f"--port={db.port}", "--skip-name-resolve",
             "--character-set-server=utf8mb4", "--collation-server=utf8mb4_general_ci",
             f"--pid-file={d / 'pid'}", f"--log-error={d / 'error.log'}", *small],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                conn = pymysql.connect(unix_socket=db.socket, user="root", autocommit=True)
                break
            except pymysql.err.OperationalError:
                if db.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"mariadbd did not start: {(d / 'error.log').read_text()}") from None
                time.sleep(0.1)
        with conn, conn.cursor() as cur:
            cur.execute("SELECT Host FROM mysql.user WHERE User = 'root' AND Host IN ('localhost', '127.0.0.1', '::1')")
            for (host,) in cur.fetchall():  # root@<hostname> is inert under --skip-name-resolve
                cur.execute("ALTER USER 'root'@%s IDENTIFIED BY %s", (host, db.root_password))
        return db

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(30)
        shutil.rmtree(self.dir, ignore_errors=True)

    # ------------------------------------------------------------ test-side helpers
    def admin(self, database: str | None = None) -> pymysql.Connection:
        """A root connection over TCP with the real password."""
        return pymysql.connect(host="127.0.0.1", port=self.port, user="root", password=self.root_password,
                               database=database, autocommit=True)

    def sql(self, statement: str, args=None, database: str | None = None) -> list[tuple]:
        """Run one statement as root; its rows."""
        with self.admin(database) as conn, conn.cursor() as cur:
            cur.execute(statement, args)
            return list(cur.fetchall())

    def reset(self, databases=DATABASES, user: str = APP_USER) -> None:
        """Drop the step's databases and every account of the application user (test-side cleanup)."""
        with self.admin() as conn, conn.cursor() as cur:
            for name in databases:
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
                cur.execute(f"DROP DATABASE IF EXISTS `{name}__esbload`")  # a load's staging database
            cur.execute("SELECT Host FROM mysql.user WHERE User = %s", (user,))
            for (host,) in cur.fetchall():
                cur.execute("DROP USER %s@%s", (user, host))

    def tables(self, database: str) -> set[str]:
        return {r[0] for r in self.sql("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s",
                                       (database,))}

    def databases(self) -> dict[str, str]:
        """Existing step databases -> charset."""
        return dict(self.sql("SELECT SCHEMA_NAME, DEFAULT_CHARACTER_SET_NAME FROM information_schema.SCHEMATA "
                             "WHERE SCHEMA_NAME IN %s", (DATABASES,)))

    def com_counters(self) -> dict[str, int]:
        """The server's global Com_* statement counters."""
        return {k: int(v) for k, v in self.sql("SHOW GLOBAL STATUS LIKE 'Com\\_%'")}

    def toml(self, host: str = "db1", tunnel: bool = True, extra: str = "") -> str:
        """A [database] section for the lab's hosts.toml pointing at this server."""
        return (f'\n[database]\nhost = "{host}"\nport = {self.port}\ntunnel = {"true" if tunnel else "false"}\n'
                f'user = "{APP_USER}"\nadmin_user = "root"\ncharset = "latin1"\n{extra}')
