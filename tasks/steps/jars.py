"""install-jdbc-driver and install-svnkit: jars from [artifacts] into
the product's components folders.

One generic "jar in folder" planner serves both steps: the wanted jar (a local file
on the machine running fab) must be in a folder of the product home with the same
sha256; any OTHER version of the same jar family in that folder (same artifact
name, another version or other bytes) is stale: verify lists it, patch uploads the
wanted jar first and then removes the stale one (RemoteHost.remove backs it up).
Jars travel as uploads (actions), never as text diffs.
"""
from __future__ import annotations

import hashlib
import posixpath
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from ..config import ConfigError, Inventory
from ..formats import zipdir
from ..engine.ops import MakeDir, Remove, Upload
from ..engine.plan import Item, Plan
from ..remote import RemoteError
from ..rules import DROPINS, LIB, jar_family
from .base import Step
from ..engine.context import StepContext, StepError

JAR_MODE = 0o644
#: the largest local jar read and uploaded (the real ones are 0.2-5 MiB)
LOCAL_JAR_LIMIT = 256 << 20

@dataclass(frozen=True)
class LocalJar:
    """The wanted jar, read from the machine running fab."""

    key: str
    path: Path
    data: bytes = field(repr=False)
    sha256: str

    @property
    def directory(self) -> zipdir.Entries | None:
        """The jar's zip entries: name, CRC-32, sizes (what a remote jar of the same size is compared by)."""
        return zipdir.local_entries(self.data)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def family(self) -> str:
        return jar_family(self.name)


def load_local_jar(inv: Inventory, key: str) -> LocalJar:
    """The [artifacts] `key` jar, or a StepError naming the key and the path."""
    try:
        path = inv.artifact(key)
    except ConfigError:
        raise StepError(f"[artifacts] {key} is not set in {inv.path} (the local path of the jar to upload)") from None
    try:
        st = path.stat()
    except OSError:
        raise StepError(f"[artifacts] {key}: {path} does not exist on this machine "
                        f"(download the jar there, or fix the path in {inv.path})") from None
    if st.st_size > LOCAL_JAR_LIMIT:  # read whole to upload it: a jar, not an image or an archive of jars
        raise StepError(f"[artifacts] {key}: {path} is {st.st_size} bytes, more than a jar may hold "
                        f"({LOCAL_JAR_LIMIT} bytes); refused, not read")
    return _read_jar(key, str(path), st.st_mtime_ns, st.st_size)


@lru_cache(maxsize=16)
def _read_jar(key: str, path: str, mtime_ns: int, size: int) -> LocalJar:
    """Read and check a local jar once per (path, mtime, size): every host of a run shares it."""
    p = Path(path)
    if not p.is_file() or not zipfile.is_zipfile(p):
        raise StepError(f"[artifacts] {key}: {p} is not a jar (zip) file")
    data = p.read_bytes()
    return LocalJar(key, p, data, hashlib.sha256(data).hexdigest())


@dataclass
class JarDecision:
    """What one jar needs in one folder: drift items, whether to upload, which stale jars to remove."""

    items: list[Item]
    upload: bool
    stale: list[str]


def plan_jar(folder: str, jar: LocalJar, names: list[str] | None, actual: str | None) -> JarDecision:
    """Pure planner. `names`: the folder's entries (None when the folder is absent); `actual`: the
    sha256 of folder/<jar name> (or another description of its content), None when absent."""
    target = f"{folder}/{jar.name}"
    items: list[Item] = []
    if names is None:
        items.append(Item(folder, "directory", "present", None))
    upload = actual != jar.sha256
    if upload:
        items.append(Item(target, "sha256", jar.sha256, actual))
    stale = sorted(n for n in names or () if n != jar.name and n.lower().endswith(".jar")
                   and jar_family(n) == jar.family)
    for n in stale:
        items.append(Item(f"{folder}/{n}", f"other version of {jar.family} (stale)", None, "present"))
    return JarDecision(items, upload, stale)


def remote_sha(ctx: StepContext, path: str, jar: LocalJar) -> str | None:
    """What the remote jar is, as compared with the wanted one: its sha256 when it is the same
    jar (the same size and the same zip central directory: every entry's name, sizes and
    CRC-32), else how it differs. The jar is never read whole: its size from a stat, its
    directory from its last bytes (issue 15)."""
    st = ctx.remote.stat(path)
    if st is None:
        return None
    if not st.is_file:
        raise StepError(f"{path} on {ctx.host.name} is not a regular file")
    if st.size != len(jar.data):
        return f"other bytes ({st.size} bytes, wanted {len(jar.data)})"
    try:
        same = remote_directory(ctx, path, st.size) == jar.directory
    except RemoteError as e:
        if "permission denied" not in str(e):
            raise
        return ctx.remote.sha256(path)  # a jar only root may read: hashed through sudo (read whole)
    return jar.sha256 if same else "other bytes (the same size, another zip directory)"


def remote_directory(ctx: StepContext, path: str, size: int) -> zipdir.Entries | None:
    """A remote zip's entries, from its directory at its end (zipdir): a few KiB of a jar of megabytes."""
    return zipdir.entries(lambda offset, length: ctx.remote.read_range(path, offset, length))


@dataclass(frozen=True)
class JarSpec:
    """A jar of [artifacts] (`key`) that belongs in `folder` (relative to the product home)."""

    key: str
    folder: str


def plan_jar_spec(ctx: StepContext, spec: JarSpec) -> Plan:
    """Read the remote folder, decide, and attach the upload/remove actions."""
    jar = load_local_jar(ctx.inv, spec.key)
    home = ctx.host.product_home
    if ctx.remote.stat(home) is None:
        raise StepError(f"product home {home} does not exist on {ctx.host.name}")
    folder = ctx.home(spec.folder)
    names = ctx.remote.listdir(folder)
    target = posixpath.join(folder, jar.name)
    actual = remote_sha(ctx, target, jar) if names is not None and jar.name in names else None
    d = plan_jar(spec.folder, jar, names, actual)
    plan = Plan(items=d.items)
    if names is None:
        plan.actions.append(MakeDir(folder))
    if d.upload:
        plan.actions.append(Upload(str(jar.path), target, jar.data, jar.sha256, JAR_MODE))
    plan.actions += [Remove(posixpath.join(folder, n)) for n in d.stale]
    return plan


class JarStep(Step):
    """A step that puts jars of [artifacts] into product folders (`jars`)."""

    jars: tuple[JarSpec, ...] = ()

    def preflight(self, inv: Inventory, secrets) -> None:
        """Every local jar exists and is a zip file."""
        super().preflight(inv, secrets)
        for spec in self.jars:
            load_local_jar(inv, spec.key)

    def plan(self, ctx: StepContext) -> Plan:
        for spec in self.jars:  # every local jar is checked before any host is touched
            load_local_jar(ctx.inv, spec.key)
        plan = Plan()
        for spec in self.jars:
            plan.extend(plan_jar_spec(ctx, spec))
        return plan


class InstallJdbcDriver(JarStep):
    name = "install-jdbc-driver"
    phase = "nodes"
    help = ("MySQL connector jar ([artifacts].mysql_connector_jar) into repository/components/lib "
            "(guide: Configurar la Base de Datos, 3)")
    jars = (JarSpec("mysql_connector_jar", LIB),)


class InstallSvnkit(JarStep):
    name = "install-svnkit"
    phase = "nodes"
    help = ("svnkit jar into repository/components/dropins, trilead-ssh2 jar into repository/components/lib "
            "(guide: Configurar SVN-Based Deployment Synchronizer, 1-2)")
    jars = (JarSpec("svnkit_jar", DROPINS), JarSpec("trilead_jar", LIB))


__all__ = ["InstallJdbcDriver", "InstallSvnkit", "JarSpec", "JarStep", "LocalJar", "jar_family",
           "load_local_jar", "plan_jar"]
