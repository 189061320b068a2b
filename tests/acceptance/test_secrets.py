"""Secret hygiene (issue 6): every step, in every mode, with right and with wrong secrets.

Each secret value carries a unique token (hex, so XML or SQL escaping cannot hide it).
While fab runs, a thread reads every process's command line (/proc/*/cmdline: the lab's
"remote" hosts are this machine).  Afterwards the token of every secret must be absent
from: stdout and stderr of every run, every command line seen, every file and file name
under the lab (backups and their manifests, state files, sshd logs, certificates, svn
repository), the MariaDB log, and any file this test left in /tmp or ~/.subversion; the
only exceptions are the files that need the value: .env, carbon.xml (SvnPassword),
master-datasources.xml (the datasource password) and the svn passwd file.
"""
from __future__ import annotations

import os
import secrets as pysecrets
import threading
import time
from pathlib import Path

import pytest

from tasks.steps import STEPS
from tests.acceptance.cluster import cluster, svnserve  # noqa: F401

#: files allowed to hold a secret (the configuration files that need it), by base name
NEEDS_SECRET = {".env", "carbon.xml", "master-datasources.xml", "passwd",
                "catalina-server.xml", "axis2.xml", "user-mgt.xml"}  # KEYSTORE_PASSWORD, ADMIN_PASSWORD (§8)
#: the hardening steps: run one per fab invocation (a wrong KEYSTORE_PASSWORD fails them, and Invoke would stop)
HARDENING = ("set-admin-password", "create-keystore", "secure-vault")
ADMIN = "esbadmin"


def secret(label: str) -> tuple[str, str]:
    """(value, token): a distinctive value with quote, ampersand, angle brackets, percent and letters outside
    ASCII (one Latin-1 can hold, one it cannot): a mask that misses any form of the value leaves the token."""
    token = pysecrets.token_hex(6)
    if label.startswith(("Admin", "WrongAdmin")):  # Carbon's rule for the admin: 5 to 30 characters, no space
        return f"Ñ{token}&<q>'\"%€", token
    return f"Contraseña-{label}-{token}&<q>'\"%!€", token


class Poller(threading.Thread):
    """Collects the command line of every process on the machine until stopped."""

    def __init__(self):
        super().__init__(daemon=True)
        self.seen: set[str] = set()
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            for d in os.listdir("/proc"):
                if d.isdigit():
                    try:
                        with open(f"/proc/{d}/cmdline", "rb") as f:
                            self.seen.add(f.read().replace(b"\0", b" ").decode("utf-8", "replace"))
                    except OSError:
                        pass
            time.sleep(0.01)


#: the steps a secret goes into (or is checked by)
SECRET_STEPS = ("create-dbs", "configure-datasources", "create-svn-repo", "enable-depsync")


def step_args(flags: tuple[str, ...]) -> list[str]:
    """Every step as one fab invocation, each task with its own flags (Invoke binds a flag to its task).

    Invoke stops at the first task that exits non-zero, so create-dbs (which fails with a wrong
    admin password) comes last."""
    names = [s.name for s in STEPS if s.name not in ("create-dbs", *HARDENING)] + ["create-dbs"]
    return [a for n in names for a in (n, *flags)]


@pytest.fixture
def hygiene(cluster, mariadb):  # noqa: F811
    """The cluster lab with an admin account of our own (so its password is distinctive too)."""
    lab = cluster
    values = {n: secret(n.split("_")[0].title()) for n in
              ("MYSQL_ADMIN_PASSWORD", "WSO2_DB_PASSWORD", "SVN_PASSWORD", "SUDO_PASSWORD", "KEYSTORE_PASSWORD",
               "ADMIN_PASSWORD")}
    mariadb.sql("CREATE USER %s@%s IDENTIFIED BY %s", (ADMIN, "%", values["MYSQL_ADMIN_PASSWORD"][0]))
    mariadb.sql("GRANT ALL PRIVILEGES ON *.* TO %s@%s WITH GRANT OPTION", (ADMIN, "%"))
    lab.extra_toml = lab.extra_toml.replace('admin_user = "root"', f'admin_user = "{ADMIN}"')
    assert f'admin_user = "{ADMIN}"' in lab.extra_toml
    lab.write_toml()
    yield lab, values
    mariadb.sql("DROP USER IF EXISTS %s@%s", (ADMIN, "%"))


def test_no_secret_anywhere_but_the_files_that_need_it(hygiene, mariadb):
    lab, right = hygiene
    wrong = {n: secret("Wrong" + n.split("_")[0].title()) for n in right}
    started = time.time()
    outputs: list[tuple[str, str]] = []
    poller = Poller()
    poller.start()

    def fab(*args: str) -> None:
        r = lab.fab(*args, timeout=300)
        assert r.returncode in (0, 1, 2) and "Traceback" not in r.stdout + r.stderr, r.stdout + r.stderr
        outputs.append((" ".join(args[:3]), r.stdout + r.stderr))

    def use(values: dict) -> None:
        lab.write_env(**{n: v for n, (v, _) in values.items()})

    try:
        use(right)
        for flags in (("--dry-run",), ("--dry-run", "--json"), (), ("--json",), ("--verify",), ("--verify", "--json")):
            fab(*step_args(flags))
            for step in HARDENING[:2]:  # secure-vault comes last: it moves the passwords out of the files
                fab(step, *flags)
        fab("setup-cluster", "--dry-run")
        fab("setup-cluster", "--json")
        fab("verify")
        fab("verify", "--json")
        assert lab.fab("verify").returncode == 0  # the right secrets are in place everywhere

        use(wrong)  # wrong admin password; changed application and svn passwords
        fab("verify")  # every step's verify (drift does not stop it)
        fab("verify", "--json")
        for step in SECRET_STEPS:
            fab(step, "--verify")
            fab(step, "--verify", "--json")
        for flags in (("--dry-run",), ("--dry-run", "--json"), ("--json",)):
            fab(*step_args(flags))
        fab("verify")
        w1 = lab.hosts["esb-w1"]
        assert wrong["SVN_PASSWORD"][1] in w1.conf("carbon.xml").read_text(encoding="latin-1")
        assert wrong["WSO2_DB_PASSWORD"][1] in w1.conf("datasources/master-datasources.xml").read_text()
        for step in HARDENING[:2]:
            for flags in (("--dry-run",), ("--json",), ("--verify", "--json")):
                fab(step, *flags)
        use(right)
        for flags in (("--dry-run",), (), ("--verify",), ("--dry-run", "--json"), ("--json",), ("--verify", "--json")):
            fab("secure-vault", *flags)
        fab("verify")
        fab("verify", "--json")
        fab("rollback", "--dry-run")
        fab("rollback", "--json")
    finally:
        poller.halt.set()
        poller.join()

    tokens = {f"{n} ({kind})": tok for kind, vals in (("right", right), ("wrong", wrong))
              for n, (_, tok) in vals.items()}
    leaks = []
    for label, tok in tokens.items():
        leaks += [f"{label} in output of fab {what}: {line.replace(tok, '<TOKEN>')[:300]}"
                  for what, out in outputs for line in out.splitlines() if tok in line]
        leaks += [f"{label} on a command line: {c[:200]}" for c in poller.seen if tok in c]
    leaks += scan_files(lab.dir, tokens)
    leaks += scan_files(mariadb.dir, tokens, only={"error.log"})
    leaks += scan_files(Path.home() / ".subversion", tokens)
    leaks += scan_files(Path("/tmp"), tokens, newer_than=started, skip=(lab.dir, mariadb.dir))
    assert leaks == [], "\n".join(leaks)
    # the poller did see the remote commands of the run (svn round trip, openssl on the manager)
    assert any("svn info" in c for c in poller.seen) and any("openssl" in c for c in poller.seen)
    # the secret-bearing file does hold the (last) value: the scan above looked at real runs
    assert wrong["SVN_PASSWORD"][1] in (lab.svnserve.repo / "conf" / "passwd").read_text()


def needs_secret(p: Path) -> bool:
    """A configuration file that needs a secret, or a backup copy of one (private: 0600 in a 0700 dir)."""
    if p.name in NEEDS_SECRET:
        return True
    if p.parent.name == "files" and p.parent.parent.parent.name == "backups" and \
            p.name.split("-", 1)[-1] in NEEDS_SECRET:
        assert p.stat().st_mode & 0o777 == 0o600 and p.parent.parent.stat().st_mode & 0o777 == 0o700, p
        return True
    return False


def scan_files(root: Path, tokens: dict[str, str], only: set[str] | None = None, newer_than: float = 0,
               skip: tuple[Path, ...] = ()) -> list[str]:
    """Tokens in file names anywhere under root, and in contents of files that do not need the secret."""
    leaks = []
    if not root.exists():
        return leaks
    for dirpath, dirnames, filenames in os.walk(root):
        if any(Path(dirpath).is_relative_to(s) for s in skip):
            dirnames[:] = []
            continue
        for name in filenames + dirnames:
            p = Path(dirpath) / name
            for label, tok in tokens.items():
                if tok in name:
                    leaks.append(f"{label} in a file name: {p}")
            if name not in filenames or (only and name not in only) or needs_secret(p):
                continue
            try:
                st = p.lstat()
                if not p.is_file() or p.is_symlink() or st.st_mtime < newer_than or st.st_size > 4 << 20:
                    continue
                data = p.read_bytes()
            except OSError:
                continue
            leaks += [f"{label} in {p}" for label, tok in tokens.items() if tok.encode() in data]
    return leaks


def test_words_the_product_ships_are_not_masked_as_secrets(lab, tmp_path):
    """The shipped placeholder `password` and the shipped datasource user `wso2carbon` are words every download
    holds, not secrets: they are printed as they are, and so is every name they occur in (issue 24)."""
    from tests.acceptance.cluster import node_config
    node_config(lab, tmp_path)
    r = lab.fab("verify")  # db1 and svn fail here (no database, no svn parent): the node rows are what counts
    assert "Traceback" not in r.stdout + r.stderr
    assert "[esb-w1] set-admin-password: " in r.stdout and "set-admin-****" not in r.stdout, r.stdout
    r = lab.fab("-H", "esb-w1", "configure-datasources", "--verify", "--verbose")  # every item (11)
    assert "username: wanted 'regadmin', actual 'wso2carbon'" in r.stdout, r.stdout
