"""The stand-in Carbon's deployment synchronizer and CApp deployer (tests/standin/carbon.py starts them), as
carbon-commons' SVN synchronizer (SVNBasedArtifactRepository) and Carbon's ApplicationManager behave, with the
real `svn` client against the real svnserve:

- the URL is carbon.xml's SvnUrl, plus `/-1234` unless SvnUrlAppendTenantId is false; it is made when missing
  (`svn mkdir --parents`, "Directory creation by deployment synchronizer", checkRemoteDirectory);
- the working copy is repository/deployment/server (checked out over what is there, as `checkout` does);
- with AutoCommit (the manager), every period: cleanup, unversioned files added (not those whose name starts
  with `.` or `~` or ends `.bk`), missing ones deleted, a commit "Commit initiated by deployment synchronizer"
  when anything changed, then an update;
- with AutoCheckout on a worker (-DworkerNode=true), every period: cleanup, revert, update with force;
- the password is the one carbon.xml holds, a svns:secretAlias resolved from cipher-text.properties with the
  node's key (carbon.py's vault_value); it reaches svn on its stdin, never on a command line;
- a failing svn command is logged as Carbon logs a failed synchronization (ERROR, the deployment synchronizer's
  class), with svn's own last line;
- the CApp deployer scans carbonapps every period: a new or changed `.car` is deployed from its artifacts.xml
  (`Deploying Carbon Application : f.car...`, `Successfully Deployed Carbon Application : name_version
  {super-tenant}`), one that cannot be read is an ERROR line, a removed one `Undeploying Carbon Application :
  name_version...`.
The period is standin.json's `depsync_period` (default 1 s; Carbon's is longer).
"""
from __future__ import annotations

import subprocess
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Callable

DEPSYNC = "org.wso2.carbon.deployment.synchronizer.internal.DeploymentSynchronizer"
DEPLOYER = "org.wso2.carbon.application.deployer.internal.ApplicationManager"
Log = Callable[[str, str, str], None]


def settings(home: Path, vault_value: Callable[[str], str | None]) -> dict | None:
    """The active <DeploymentSynchronizer> of carbon.xml (None: disabled or absent)."""
    root = ET.parse(home / "repository/conf/carbon.xml").getroot()
    ns = root.tag[:root.tag.index("}") + 1] if root.tag.startswith("{") else ""
    ds = root.find(f"{ns}DeploymentSynchronizer")
    if ds is None:
        return None
    text = lambda tag: (ds.findtext(f"{ns}{tag}") or "").strip()  # noqa: E731
    if text("Enabled").lower() != "true":
        return None
    url = text("SvnUrl")
    if text("SvnUrlAppendTenantId").lower() != "false":
        url = (url if url.endswith("/") else url + "/") + "-1234"
    pw = ds.find(f"{ns}SvnPassword")
    alias = next((v for k, v in (pw.attrib.items() if pw is not None else ()) if k.endswith("secretAlias")), None)
    password = vault_value(alias) if alias else text("SvnPassword")
    return {"url": url, "user": text("SvnUser"), "password": password or "",
            "commit": text("AutoCommit").lower() == "true", "checkout": text("AutoCheckout").lower() == "true"}


class Synchronizer:
    """DepSync's periodic commit (manager) or revert-and-update (worker)."""

    def __init__(self, home: Path, conf: dict, worker: bool, log: Log):
        self.home, self.conf, self.worker, self.log = home, conf, worker, log
        self.root = home / "repository/deployment/server"
        self.cfg = tempfile.mkdtemp(prefix="standin-svn-")

    def svn(self, *args: str) -> subprocess.CompletedProcess:
        cmd = ["svn", *args, "--non-interactive", "--no-auth-cache", "--config-dir", self.cfg,
               "--username", self.conf["user"], "--password-from-stdin"]
        r = subprocess.run(cmd, input=self.conf["password"] + "\n", capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            last = [ln for ln in r.stderr.splitlines() if ln.strip()]
            raise RuntimeError(last[-1] if last else f"svn {args[0]} failed")
        return r

    def once(self) -> None:
        if not (self.root / ".svn").exists():
            self.svn("checkout", "--force", self.conf["url"], str(self.root))
            return
        self.svn("cleanup", str(self.root))
        if self.conf["commit"]:
            self.commit()
        if self.worker:
            self.svn("revert", "-R", str(self.root))
        if self.conf["checkout"] or self.conf["commit"]:
            self.svn("update", "--force", str(self.root))

    def commit(self) -> None:
        status = self.svn("status", str(self.root)).stdout.splitlines()
        changed = False
        for line in status:
            code, path = line[:1], line[8:].strip()
            name = Path(path).name
            if code == "?" and not name.startswith((".", "~")) and not name.endswith(".bk"):
                self.svn("add", "--force", path)
                changed = True
            elif code == "!":
                self.svn("delete", "--force", path)
                changed = True
            elif code in ("M", "A", "D", "R"):
                changed = True
        if changed:
            self.svn("commit", "-m", "Commit initiated by deployment synchronizer", str(self.root))

    def ensure_remote(self) -> None:
        try:
            self.svn("info", self.conf["url"])
        except RuntimeError:
            self.svn("mkdir", "--parents", "-m", "Directory creation by deployment synchronizer", self.conf["url"])

    def run(self, period: float) -> None:
        """Every `period` seconds a cycle. A failing cycle is logged when its error differs from the last
        one logged (Carbon logs it every cycle; the stand-in once until it changes or a cycle succeeds, so
        that a lab without an SVN server does not grow the log of a running node while a test compares
        snapshots)."""
        last = None
        while True:
            try:
                if not hasattr(self, "_remote_ok"):
                    self.ensure_remote()
                    self._remote_ok = True
                self.once()
                last = None
            except (RuntimeError, subprocess.TimeoutExpired, OSError) as e:
                kind = "commit" if self.conf["commit"] else "update"
                line = f"Deployment synchronization {kind} for tenant -1234 failed: {e}"
                if line != last:
                    self.log("ERROR", DEPSYNC, line)
                    last = line
            time.sleep(period)


def app_id(car: Path) -> str:
    """name_version of a .car's carbon/application artifact; ValueError when it has none."""
    with zipfile.ZipFile(car) as z:
        root = ET.fromstring(z.read("artifacts.xml"))
    for a in root.iter("artifact"):
        if a.get("type") == "carbon/application":
            return f"{a.get('name')}_{a.get('version')}"
    raise ValueError("no carbon/application artifact")


def deployer(home: Path, log: Log, period: float) -> None:
    """Carbon's CApp hot deployer over carbonapps."""
    apps = home / "repository/deployment/server/carbonapps"
    deployed: dict[str, tuple[tuple[int, int], str | None]] = {}
    while True:
        seen = set()
        for car in sorted(apps.glob("*.car")) if apps.is_dir() else []:
            seen.add(car.name)
            try:
                st = car.stat()
            except OSError:
                continue
            key = (st.st_size, st.st_mtime_ns)
            old = deployed.get(car.name)
            if old is not None and old[0] == key:
                continue
            if old is not None and old[1]:
                log("INFO", DEPLOYER, f"Undeploying Carbon Application : {old[1]}...")
            log("INFO", DEPLOYER, f"Deploying Carbon Application : {car.name}...")
            try:
                ident = app_id(car)
            except (OSError, ValueError, KeyError, zipfile.BadZipFile, ET.ParseError) as e:
                log("ERROR", DEPLOYER, f"Error while deploying Carbon Application {car.name}: {e}")
                deployed[car.name] = (key, None)
                continue
            log("INFO", DEPLOYER, f"Successfully Deployed Carbon Application : {ident} {{super-tenant}}")
            deployed[car.name] = (key, ident)
        for name in [n for n in deployed if n not in seen]:
            ident = deployed.pop(name)[1]
            if ident:
                log("INFO", DEPLOYER, f"Undeploying Carbon Application : {ident}...")
        time.sleep(period)


def start(home: Path, worker: bool, log: Log, vault_value: Callable[[str], str | None], period: float) -> None:
    """Start DepSync (when carbon.xml enables it) and the CApp deployer, each a thread of the server."""
    (home / "repository/deployment/server/carbonapps").mkdir(parents=True, exist_ok=True)
    conf = settings(home, vault_value)
    if conf is not None:
        sync = Synchronizer(home, conf, worker, log)
        threading.Thread(target=sync.run, args=(period,), daemon=True).start()
    threading.Thread(target=deployer, args=(home, log, period), daemon=True).start()
