"""A test lab of real OpenSSH servers on loopback: each host is 127.0.0.N with its own sshd,
product home (a copy of the shipped WSO2 ESB 4.9.0 files) and hosts file.

Used by the tests, the demo and the benchmark.  Nothing here is mocked: `fab`
connects to these sshd processes over TCP and works through SFTP.
"""
from __future__ import annotations

import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED_FIXTURE = REPO.parent / "shared" / "fixtures" / "wso2esb-4.9.0"
SAMPLE_FIXTURE = REPO / "sample" / "wso2esb-4.9.0"
SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
#: a directory in Lab.snapshot()
DIR = b"<directory>"
#: never inherited by a fab run from the caller's environment: an exported secret or ESB_HOSTS would
#: override the test's .env and hosts.toml (a test that means to set one passes it in `env`)
SCRUBBED_ENV = ("MYSQL_ADMIN_PASSWORD", "WSO2_DB_PASSWORD", "SVN_PASSWORD", "SUDO_PASSWORD", "KEYSTORE_PASSWORD",
                "ADMIN_PASSWORD", "ESB_HOSTS",
                "ESB_STATS_FILE")

#: the [cluster] table of every test inventory (the lab's and the unit tests')
#: the first three octets of the lab hosts' loopback addresses (Lab.create): ESB_LAB_NET=127.3.0 gives a run labs of
#: its own where several worktrees share one machine (a lab's first_octet is fixed per test module)
LAB_NET = os.environ.get("ESB_LAB_NET", "127.0.0")

CLUSTER_TOML = """\
[cluster]
domain = "wso2.esb.domain"
hostname = "esb.wso2.com"
mgt_hostname = "mgt.esb.wso2.com"
port_offset = 0
lb_http_port = 80
lb_https_port = 443
"""


def product_fixture() -> Path:
    """The shipped 4.9.0 files from ../shared when present, else the project's own sample.

    ESB_FIXTURE=sample forces the sample (to prove the suite passes on a clone without ../shared)."""
    if os.environ.get("ESB_FIXTURE") == "sample":
        return SAMPLE_FIXTURE
    return SHARED_FIXTURE if SHARED_FIXTURE.is_dir() else SAMPLE_FIXTURE


def free_port(addr: str) -> int:
    with socket.socket() as s:
        s.bind((addr, 0))
        return s.getsockname()[1]


def make_jar(path: Path, content: str, classes: tuple[str, ...] = ()) -> Path:
    """A small stand-in jar (a real zip with a manifest, and empty entries for `classes`, e.g.
    'com.mysql.jdbc.Driver'): the real SVNKit, trilead and connector jars cannot be downloaded here."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
        for c in classes:
            z.writestr(c.replace(".", "/") + ".class", b"\xca\xfe\xba\xbe")
        z.writestr("payload.txt", content * 50)
    return path


def car(name: str = "App", version: str = "1.0.0", extra: bytes = b"") -> bytes:
    """A small Carbon application archive (.car): artifacts.xml naming name_version, and one artifact."""
    import io
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("artifacts.xml", f'<artifacts><artifact name="{name}" version="{version}" '
                                    f'type="carbon/application"><dependency artifact="x"/></artifact></artifacts>')
        z.writestr(f"{name}_{version}/x.xml", b"<proxy/>" + extra)
    return buf.getvalue()


def process_children() -> dict[int, list[int]]:
    """ppid -> pids of every process on the machine (from /proc)."""
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(d.name))
    return children


def fab_bin() -> str:
    """The fab of the running interpreter's environment."""
    cand = Path(sys.executable).parent / "fab"
    return str(cand) if cand.exists() else "fab"


@dataclass
class LabHost:
    name: str
    role: str
    address: str
    port: int
    root: Path
    member_port: int | None = None
    proc: subprocess.Popen | None = None
    sshd_config: Path | None = None
    hosts_path: Path | None = None  # a hosts file shared with other entries of the machine (SharedLab)
    port_offset: int = 0

    @property
    def home(self) -> Path:
        return self.root / "wso2esb-4.9.0"

    @property
    def hosts_file(self) -> Path:
        return self.hosts_path or self.root / "etc-hosts"

    def conf(self, rel: str) -> Path:
        return self.home / "repository" / "conf" / rel


@dataclass
class Lab:
    """N loopback hosts with sshd, a client key, known_hosts and a hosts.toml."""

    dir: Path
    hosts: dict[str, LabHost] = field(default_factory=dict)
    extra_toml: str = ""
    env: dict[str, str] = field(default_factory=dict)
    svn_port: int = 3690  # [svn] url port; tests/svnlab.py sets it to its svnserve's
    default_state: bool = False  # no state_dir key: every node's state in .esb-cluster of the login (root) home
    used_login_home: bool = False  # the last reset was for a default_state test (the next reset cleans up after it)
    fixture: Path | None = None  # the product files of every ESB host (default: product_fixture())

    @property
    def key(self) -> Path:
        return self.dir / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.dir / "known_hosts"

    @property
    def hosts_toml(self) -> Path:
        return self.dir / "hosts.toml"

    # ------------------------------------------------------------ life cycle
    @classmethod
    def create(cls, n_workers: int = 2, base: Path | None = None, first_octet: int = 2,
               extra_roles: tuple[str, ...] = (), fixture: Path | None = None) -> "Lab":
        """Keys, one sshd per host (manager, workers, extra roles), product homes and hosts.toml."""
        lab = cls.with_keys("esblab-", base, fixture)
        d = lab.dir
        specs = [("esb-mgr", "manager")] + [(f"esb-w{i + 1}", "worker") for i in range(n_workers)]
        specs += [(f"{r}1", r) for r in extra_roles]
        for i, (name, role) in enumerate(specs):
            addr = f"{LAB_NET}.{first_octet + i}"
            h = LabHost(name, role, addr, free_port(addr), d / "hosts" / name,
                        member_port=4100 + 100 * i if role in ("manager", "worker") else None)
            lab.hosts[name] = h
        Path("/run/sshd").mkdir(parents=True, exist_ok=True)
        for h in lab.hosts.values():
            lab.reset_host(h)
            lab.start(h)
        lab.write_known_hosts()
        lab.write_toml()
        return lab

    @classmethod
    def with_keys(cls, prefix: str, base: Path | None, fixture: Path | None):
        """A new lab folder with the client key, the hosts' key and authorized_keys."""
        d = Path(tempfile.mkdtemp(prefix=prefix, dir=base))
        lab = cls(d, fixture=fixture)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(lab.key)], check=True)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / "host_key")], check=True)
        os.chmod(lab.key, 0o600)
        (d / "authorized_keys").write_text((d / "id_ed25519.pub").read_text())
        return lab

    def reset_host(self, h: LabHost) -> None:
        """Fresh product home (copy of the shipped files) and hosts file."""
        if h.root.exists():
            shutil.rmtree(h.root)
        h.root.mkdir(parents=True)
        if h.role in ("manager", "worker"):
            shutil.copytree(self.fixture or product_fixture(), h.home, ignore=shutil.ignore_patterns("PROVENANCE.md"))
            for p in h.home.rglob("*"):  # as the product's zip unpacks: folders and bin/*.sh executable
                os.chmod(p, 0o755 if p.is_dir() or (p.parent.name == "bin" and p.suffix == ".sh") else 0o644)
            (h.home / "repository" / "components" / "lib").mkdir(parents=True, exist_ok=True)
            (h.home / "repository" / "components" / "dropins").mkdir(parents=True, exist_ok=True)
        h.hosts_file.write_text("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n")

    def reset(self) -> None:
        """Fresh product homes and hosts files, no backups or locks left by earlier runs, a new hosts.toml."""
        for h in self.hosts.values():
            self.reset_host(h)
        shutil.rmtree(self.dir / "state", ignore_errors=True)
        shutil.rmtree(self.dir / ".esb-state", ignore_errors=True)
        if self.default_state or self.used_login_home:
            # the lab's own nodes' default state (before a test that uses it, after one that did): a lab whose
            # tests never use it leaves the login home alone (another xdist worker's default-state test uses it)
            for name in self.hosts:
                shutil.rmtree(self.home_state / "nodes" / name, ignore_errors=True)
        self.used_login_home = self.default_state
        self.write_toml()

    def start(self, h: LabHost) -> None:
        """Start (or restart) the host's sshd and wait until it accepts connections."""
        cfg = self.dir / f"sshd_{h.name}.conf"
        cfg.write_text(textwrap.dedent(f"""\
            ListenAddress {h.address}:{h.port}
            HostKey {self.dir / 'host_key'}
            AuthorizedKeysFile {self.dir / 'authorized_keys'}
            PidFile {self.dir / f'sshd_{h.name}.pid'}
            UsePAM no
            StrictModes no
            PermitRootLogin yes
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            Subsystem sftp internal-sftp
            MaxStartups 100:30:200
            MaxSessions 50
            LogLevel ERROR
            """))
        h.sshd_config = cfg
        h.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(cfg)], stdout=subprocess.DEVNULL,
                                  stderr=open(self.dir / f"sshd_{h.name}.log", "ab"))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((h.address, h.port), timeout=0.5):
                    return
            except OSError:
                if h.proc.poll() is not None:
                    raise RuntimeError(f"sshd for {h.name} exited: "
                                       f"{(self.dir / f'sshd_{h.name}.log').read_text()}") from None
                time.sleep(0.05)
        raise RuntimeError(f"sshd for {h.name} did not start")

    def stop(self, h: LabHost) -> None:
        if h.proc and h.proc.poll() is None:
            h.proc.terminate()
            h.proc.wait(5)

    def close(self) -> None:
        for h in self.hosts.values():
            self.stop(h)
        shutil.rmtree(self.dir, ignore_errors=True)

    # ------------------------------------------------------------ config
    def write_known_hosts(self) -> None:
        pub = (self.dir / "host_key.pub").read_text().split()
        lines = [f"[{h.address}]:{h.port} {pub[0]} {pub[1]}" for h in self.hosts.values()]
        self.known_hosts.write_text("\n".join(lines) + "\n")

    def toml(self) -> str:
        """hosts.toml for the lab: every real field of CONTRACT §3, loopback addresses."""
        out = [CLUSTER_TOML, textwrap.dedent(f"""\
            [defaults]
            user = "root"
            key_filename = "{self.key}"
            known_hosts = "{self.known_hosts}"
            host_key_policy = "strict"
            connect_timeout = 5
            """) + self.defaults_extra()]
        for h in self.hosts.values():
            out.append(f"[hosts.{h.name}]\naddress = \"{h.address}\"\nport = {h.port}\nrole = \"{h.role}\"\n"
                       + self.host_extra(h))
            if h.member_port:
                out.append(f"member_port = {h.member_port}\nproduct_home = \"{h.home}\"\n"
                           + (f"port_offset = {h.port_offset}\n" if h.port_offset else ""))
            out.append("\n")
        mgr = self.hosts.get("esb-mgr")
        out.append(textwrap.dedent(f"""\
            [svn]
            host = "esb-mgr"
            repo_path = "{self.dir / 'svn' / 'depsyncrepo'}"
            url = "svn://{mgr.address if mgr else '127.0.0.1'}:{self.svn_port}/depsyncrepo/"
            user = "repouser"
            """))
        out.append(self.extra_toml)
        return "\n".join(out)

    def defaults_extra(self) -> str:
        """More [defaults] lines (a subclass's)."""
        return ""

    def host_extra(self, h: LabHost) -> str:
        """The per-host lines after role: the host's own hosts file and state_dir."""
        return (f"hosts_file = \"{h.hosts_file}\"\n"
                + ("" if self.default_state else f"state_dir = \"{self.dir / 'state' / h.name}\"\n"))

    def write_toml(self, text: str | None = None) -> Path:
        self.hosts_toml.write_text(self.toml() if text is None else text)
        return self.hosts_toml

    def write_env(self, **secrets: str) -> None:
        (self.dir / ".env").write_text("".join(f"{k}={v}\n" for k, v in secrets.items()))

    # ------------------------------------------------------------ running fab
    def fab_env(self, env: dict | None = None) -> dict[str, str]:
        """The environment of a fab run: the caller's, minus what would override the lab's own inputs
        (hosts.toml, .env, stats file), then ESB_HOSTS, the lab's env and the test's `env`."""
        inherited = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
        return {**inherited, "ESB_HOSTS": str(self.hosts_toml), **self.env, **(env or {})}

    def fab(self, *args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
        """Run the real `fab` command line against this lab, as a user would: Fabric's program in a process of
        its own, forked from one that imported it once (tests/fabzygote.py); ESB_TEST_EXEC=1: a new `fab`
        process each time."""
        if os.environ.get("ESB_TEST_EXEC") == "1":
            return subprocess.run([fab_bin(), *args], cwd=REPO, env=self.fab_env(env), capture_output=True,
                                  text=True, timeout=timeout)
        from tests.fabzygote import zygote
        return zygote().run([fab_bin(), *args], self.fab_env(env), REPO, timeout)

    @property
    def home_state(self) -> Path:
        """The default state_dir of the login (root)."""
        return Path(os.path.expanduser("~root")) / ".esb-cluster"

    def state_dir(self, name: str) -> Path:
        """The node's own state (backups, the run lock): nodes/<name> under the state_dir of the lab's hosts.toml
        (with default_state: under the login home's .esb-cluster)."""
        if self.default_state:
            return self.home_state / "nodes" / name
        return self.dir / "state" / name / "nodes" / name

    def snapshot(self, state: bool = True) -> dict[str, tuple[bytes, int]]:
        """Every entry under every host root and, with `state`, under every host's state_dir (to prove
        nothing changed).

        A regular file is (bytes, mtime_ns); a directory (DIR, -1), a symlink (b"-> target", -2),
        anything else (a FIFO, a socket) (b"<special>", -3).  Directory mtimes are left out: taking and
        releasing the run lock, or a temp file renamed away, touch them without leaving anything.
        The state_dir itself is not an entry (the first run that locks a host makes it); what is under
        it is: a run that wrote nothing (bad input, refused, verify, dry-run, no-op) leaves nothing there,
        no lock, no backups/<run id>, no manifest, no temp file.  state=False: the host roots only
        (comparisons across a run that writes, whose backups stay).
        """
        roots = [h.root for h in self.hosts.values()] + self.extra_roots(state)
        if state:
            roots += [self.state_dir(name) for name in self.hosts]
        snap: dict[str, tuple[bytes, int]] = {}
        for root in roots:
            for dirpath, dirnames, filenames in os.walk(root):  # symlinks are not followed
                for name in dirnames + filenames:
                    p = Path(dirpath) / name
                    st = p.lstat()
                    if stat.S_ISDIR(st.st_mode):
                        snap[str(p)] = (DIR, -1)
                    elif stat.S_ISLNK(st.st_mode):
                        snap[str(p)] = (b"-> " + os.fsencode(os.readlink(p)), -2)
                    elif stat.S_ISREG(st.st_mode):
                        snap[str(p)] = (p.read_bytes(), st.st_mtime_ns)
                    else:
                        snap[str(p)] = (b"<special>", -3)
        return dict(sorted(snap.items()))

    def extra_roots(self, state: bool) -> list[Path]:
        """More folders a snapshot covers (a subclass's shared files)."""
        return []

    @staticmethod
    def files(snap: dict[str, tuple[bytes, int]]) -> dict[str, tuple[bytes, int]]:
        """The regular files of a snapshot."""
        return {p: v for p, v in snap.items() if v[1] >= 0}


class SharedLab(Lab):
    """Several hosts.toml entries on ONE machine (CONTRACT §5), as a user writes them for a single-VM cluster:
    one sshd, one login (root), one hosts file, no state_dir key at all (the default: .esb-cluster in the
    login home); each ESB node has its own product home, member_port and port_offset."""

    @classmethod
    def create(cls, n_workers: int = 2, base: Path | None = None, first_octet: int = 20,
               extra_roles: tuple[str, ...] = ("db",), fixture: Path | None = None) -> "SharedLab":
        lab = cls.with_keys("esbshared-", base, fixture)
        d = lab.dir
        addr = f"{LAB_NET}.{first_octet}"
        port = free_port(addr)
        (d / "machine").mkdir()
        specs = [("esb-mgr", "manager")] + [(f"esb-w{i + 1}", "worker") for i in range(n_workers)]
        specs += [(f"{r}1", r) for r in extra_roles]
        for i, (name, role) in enumerate(specs):
            esb = role in ("manager", "worker")
            lab.hosts[name] = LabHost(name, role, addr, port, d / "hosts" / name,
                                      member_port=4100 + 100 * i if esb else None,
                                      hosts_path=d / "machine" / "etc-hosts", port_offset=i if esb else 0)
        Path("/run/sshd").mkdir(parents=True, exist_ok=True)
        for h in lab.hosts.values():
            lab.reset_host(h)
        lab.start(next(iter(lab.hosts.values())))
        lab.write_known_hosts()
        lab.write_toml()
        return lab

    def state_dir(self, name: str) -> Path:
        return self.home_state / "nodes" / name

    def extra_roots(self, state: bool) -> list[Path]:
        return [self.dir / "machine"] + ([self.home_state] if state and self.home_state.exists() else [])

    def start(self, h: LabHost) -> None:
        """One sshd serves every entry."""
        first = next(iter(self.hosts.values()))
        if first.proc is None or first.proc.poll() is not None:
            super().start(first)
        for other in self.hosts.values():
            other.proc, other.sshd_config = first.proc, first.sshd_config

    def stop(self, h: LabHost) -> None:
        for other in self.hosts.values():
            if other.proc and other.proc.poll() is None:
                other.proc.terminate()
                other.proc.wait(5)

    def reset(self) -> None:
        super().reset()
        shutil.rmtree(self.home_state, ignore_errors=True)

    def close(self) -> None:
        super().close()
        shutil.rmtree(self.home_state, ignore_errors=True)

    def write_known_hosts(self) -> None:
        pub = (self.dir / "host_key.pub").read_text().split()
        h = next(iter(self.hosts.values()))
        self.known_hosts.write_text(f"[{h.address}]:{h.port} {pub[0]} {pub[1]}\n")

    def defaults_extra(self) -> str:
        """One hosts file for the machine, in [defaults]."""
        return f'hosts_file = "{self.dir / "machine" / "etc-hosts"}"\n'

    def host_extra(self, h: LabHost) -> str:
        """No state_dir anywhere, no hosts file per host."""
        return ""


if __name__ == "__main__":  # manual use: python -m tests.lab
    lab = Lab.create()
    print(lab.hosts_toml)
    try:
        input("lab running; press Enter to stop\n")
    finally:
        lab.close()
