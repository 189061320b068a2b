"""The bad-input matrix (issue 6): hosts.toml, .env, command-line flags, remote files and artifacts.

Every case runs the real fab CLI against the lab and asserts three things: exit 1, a
message that names the problem (and no traceback), and that no file under any host
root changed (lab.snapshot()).  Faults that concern one host target that host only, so
"nothing changed" covers the whole lab.  The basic cases of issue 2 live in
test_bad_input.py and are not repeated here.
"""
from __future__ import annotations

import os
import re
import socket
import time
import zipfile
from dataclasses import dataclass, field
from typing import Callable

import pytest

from tests.lab import Lab

AXIS2 = "axis2/axis2.xml"
DECL = b'<?xml version="1.0" encoding="ISO-8859-1"?>\n'
CANARY = "CANARY-LOCAL-FILE-7f3a"


@dataclass
class Case:
    """A bad input: `prepare(lab, ctx)` plants it and returns the fab arguments; `expect` is a regex."""

    id: str
    prepare: Callable[[Lab, dict], tuple]
    expect: str
    env: dict = field(default_factory=dict)


# ---------------------------------------------------------------- planting helpers
def toml_edit(old: str, new: str, args: tuple = ("patch-axis2",)):
    """A hosts.toml with one exact replacement ({w1_home}, {w1_port}, {w1_addr} and {dir} expand to the lab's values)."""
    def prepare(lab: Lab, ctx: dict) -> tuple:
        fmt = {"w1_home": lab.hosts["esb-w1"].home, "w1_port": lab.hosts["esb-w1"].port, "dir": lab.dir,
               "w1_addr": lab.hosts["esb-w1"].address}
        text = lab.toml()
        o, n = old.format(**fmt), new.format(**fmt)
        assert text.count(o) == 1, o
        lab.write_toml(text.replace(o, n))
        return args
    return prepare


def toml_extra(section: str, args: tuple = ("patch-axis2",)):
    """hosts.toml plus an extra section."""
    def prepare(lab: Lab, ctx: dict) -> tuple:
        lab.extra_toml = section
        lab.write_toml()
        return args
    return prepare


def toml_bytes(data: Callable[[Lab], bytes]):
    def prepare(lab: Lab, ctx: dict) -> tuple:
        lab.hosts_toml.write_bytes(data(lab))
        return ("patch-axis2",)
    return prepare


def env_file(data: bytes, args: tuple = ("-H", "esb-w1", "enable-depsync")):
    def prepare(lab: Lab, ctx: dict) -> tuple:
        (lab.dir / ".env").write_bytes(data)
        return args
    return prepare


def cli(*args: str):
    return lambda lab, ctx: args


def axis2(transform: Callable[[bytes, dict], bytes]):
    """esb-w1's axis2.xml rewritten; the run targets esb-w1 only."""
    def prepare(lab: Lab, ctx: dict) -> tuple:
        f = lab.hosts["esb-w1"].conf(AXIS2)
        f.write_bytes(transform(f.read_bytes(), ctx))
        return ("-H", "esb-w1", "patch-axis2")
    return prepare


def fifo(lab: Lab, ctx: dict) -> tuple:
    f = lab.hosts["esb-w1"].conf(AXIS2)
    f.unlink()
    os.mkfifo(f)
    return ("-H", "esb-w1", "patch-axis2")


def doctype(markup: str):
    return axis2(lambda data, ctx: data.replace(DECL, DECL + markup.format(**ctx).encode(), 1))


def billion_laughs(data: bytes, ctx: dict) -> bytes:
    levels = "".join(f' <!ENTITY lol{i} "{("&lol%d;" % (i - 1)) * 10}">\n' for i in range(1, 10))
    dtd = f'<!DOCTYPE axisconfig [\n <!ENTITY lol0 "lol">\n{levels}]>\n'.encode()
    data = data.replace(DECL, DECL + dtd, 1)
    return data.replace(b'<parameter name="hotdeployment">true</parameter>',
                        b'<parameter name="hotdeployment">&lol9;</parameter>', 1)


def artifact(make: Callable[[object], None]):
    """[artifacts] mysql_connector_jar pointing at a planted local file; install-jdbc-driver on esb-w1."""
    def prepare(lab: Lab, ctx: dict) -> tuple:
        p = lab.dir / "artifacts" / "mysql-connector-java-5.1.49.jar"
        p.parent.mkdir(exist_ok=True)
        if p.is_dir():
            os.rmdir(p)
        elif p.exists():
            p.unlink()
        make(p)
        lab.extra_toml = f'[artifacts]\nmysql_connector_jar = "{p}"\n'
        lab.write_toml()
        return ("-H", "esb-w1", "install-jdbc-driver")
    return prepare


def latin1_toml(lab: Lab) -> bytes:
    return "# hosts.toml de la cl\u00fafster, caf\u00e9\n".encode("latin-1") + lab.toml().encode()


def short_key(lab: Lab, ctx: dict) -> tuple:
    """A run key file of 5 bytes: a key cut short (never replaced: every earlier run would lose its signature)."""
    (lab.dir / "short.key").write_bytes(b"short")
    return ("-H", "esb-w1", "patch-axis2")


def set_run(value: str):
    return toml_extra(f"[run]\n{value}\n")


W1 = "[hosts.esb-w1]"
CASES = [
    # ---------------------------------------------------------------- hosts.toml
    Case("toml-product-home-dotdot", toml_edit('product_home = "{w1_home}"', 'product_home = "/opt/../etc"'),
         r"\[hosts\.esb-w1\]\.product_home: '/opt/\.\./etc' contains '\.\.'"),
    Case("toml-product-home-space", toml_edit('product_home = "{w1_home}"', 'product_home = "/opt/wso2 esb"'),
         r"\[hosts\.esb-w1\]\.product_home: '/opt/wso2 esb' contains spaces or characters not allowed"),
    Case("toml-host-name-shell-metachars", toml_edit(W1, '[hosts."esb-w1;rm -rf /"]'),
         r"\[hosts\.esb-w1;rm -rf /\]: host name 'esb-w1;rm -rf /' must be letters, digits"),
    Case("toml-db-name-not-identifier",
         toml_extra('[database]\nhost = "db1"\nregistry_db = "REGISTRY_DB`; DROP DATABASE mysql; --"\n'),
         r"\[database\]\.registry_db: 'REGISTRY_DB`; DROP DATABASE mysql; --' is not a plain identifier"),
    Case("toml-db-user-not-identifier", toml_extra('[database]\nhost = "db1"\nuser = "regadmin\'@\'%"\n'),
         r"\[database\]\.user: .* is not a plain identifier"),
    Case("toml-not-utf8", toml_bytes(latin1_toml), r"hosts\.toml: not UTF-8 text \(byte 21\)"),
    Case("toml-port-out-of-range",
         toml_edit('address = "{w1_addr}"\nport = {w1_port}', 'address = "{w1_addr}"\nport = 70000'),
         r"\[hosts\.esb-w1\]\.port: port 70000 out of range 1-65535"),
    Case("toml-port-is-a-string", toml_edit('connect_timeout = 5', 'connect_timeout = "5"'),
         r"\[defaults\]\.connect_timeout: must be int, got str '5'"),
    Case("toml-unknown-role", toml_edit('role = "worker"\nhosts_file = "{dir}/hosts/esb-w1/etc-hosts"',
                                        'role = "master"\nhosts_file = "{dir}/hosts/esb-w1/etc-hosts"'),
         r"\[hosts\.esb-w1\]\.role: 'master' is not one of manager, worker, db, svn, lb"),
    Case("toml-two-managers", toml_edit('role = "worker"\nhosts_file = "{dir}/hosts/esb-w1/etc-hosts"',
                                        'role = "manager"\nhosts_file = "{dir}/hosts/esb-w1/etc-hosts"'),
         r"more than one host has role = \"manager\""),
    Case("toml-group-unknown-host", toml_extra('[groups]\ncanary = ["esb-w9"]\n'),
         r"\[groups\]\.canary: unknown host 'esb-w9'; known hosts: esb-mgr, esb-w1"),
    Case("toml-group-named-all", toml_extra('[groups]\nall = ["esb-w1"]\n'),
         r"\[groups\]\.all: group name 'all' is invalid or clashes"),
    Case("toml-host-key-policy", toml_edit('host_key_policy = "strict"', 'host_key_policy = "yes"'),
         r"\.host_key_policy: 'yes' is not one of strict, accept-new"),
    Case("toml-cluster-hostname", toml_edit('hostname = "esb.wso2.com"', 'hostname = "esb_wso2..com"'),
         r"\[cluster\]\.hostname: 'esb_wso2\.\.com' is not a valid host name"),
    Case("toml-address-shell-metachars", toml_edit('address = "{w1_addr}"', 'address = "{w1_addr};reboot"'),
         r"\[hosts\.esb-w1\]\.address: '127\.[0-9.]+;reboot' is not an IP address or host name"),
    Case("toml-user-shell-metachars", toml_edit('user = "root"', 'user = "root$(id)"'),
         r"\.user: 'root\$\(id\)' is not a valid login name"),
    Case("toml-state-dir-dotdot", toml_edit('state_dir = "{dir}/state/esb-w1"', 'state_dir = "../../etc"'),
         r"\[hosts\.esb-w1\]\.state_dir: '\.\./\.\./etc' contains '\.\.'"),
    # a folder the project writes into, backs up and rolls back: never the root or a system folder itself
    Case("toml-product-home-root", toml_edit('product_home = "{w1_home}"', 'product_home = "/"'),
         r"\[hosts\.esb-w1\]\.product_home: '/' is the root folder: the project writes, backs up and rolls back"),
    Case("toml-product-home-not-normalised", toml_edit('product_home = "{w1_home}"', 'product_home = "{w1_home}/."'),
         r"\[hosts\.esb-w1\]\.product_home: '.*/\.' is not a normalised path"),
    Case("toml-certs-dir-etc", toml_extra('[certs]\ndir = "/etc"\n', ("-H", "esb-w1", "create-certs")),
         r"\[certs\]\.dir: '/etc' is a system folder itself"),
    Case("toml-state-dir-option", toml_edit('state_dir = "{dir}/state/esb-w1"', 'state_dir = "-rf"'),
         r"\[hosts\.esb-w1\]\.state_dir: '-rf' begins with '-': a command would take it for an option"),
    Case("toml-svn-repo-path-var", toml_edit("repo_path = \"", "repo_path = \"/var\" #"),
         r"\[svn\]\.repo_path: '/var' is a system folder itself"),
    Case("toml-lb-conf-dir-etc", toml_extra('[lb]\nconf_dir = "/etc"\n'),
         r"\[lb\]\.conf_dir: '/etc' is a system folder itself"),
    Case("toml-hosts-file-relative", toml_edit('hosts_file = "{dir}/hosts/esb-w1/etc-hosts"',
                                               'hosts_file = "etc/hosts"'),
         r"\[hosts\.esb-w1\]\.hosts_file: 'etc/hosts' must be an absolute path"),
    Case("toml-svn-url-scheme", toml_edit("url = \"svn://", "url = \"ftp://"),
         r"\[svn\]\.url: 'ftp://.*' is not an svn://, http\(s\):// or file:// URL"),
    Case("toml-jdbc-params-injection", toml_extra('[database]\nhost = "db1"\njdbc_params = "a=b;c=\'d\'"\n'),
         r"\[database\]\.jdbc_params: only name=value pairs joined by '&'"),
    Case("toml-grant-hosts-quote",
         toml_extra('[database]\nhost = "db1"\ngrant_hosts = ["10.0.0.%\'; DROP USER root"]\n'),
         r"\[database\]\.grant_hosts: must be a list of host names, addresses or patterns"),
    Case("toml-hosts-map-value", toml_extra('[hosts_map]\n"mgt.esb.wso2.com" = "not an address"\n'),
         r"\[hosts_map\]\.mgt\.esb\.wso2\.com: 'not an address' must be an IP address or a host of \[hosts\]"),
    Case("toml-run-parallel-zero", set_run("parallel = 0"), r"\[run\]\.parallel: must be between 1 and 256"),
    Case("toml-run-lock-wait-negative", set_run("lock_wait = -1"),
         r"\[run\]\.lock_wait: must be between 0 and 86400 seconds"),
    Case("toml-path-is-a-directory", cli("patch-axis2"), r"hosts\.toml\.d: cannot read: Is a directory",
         env={"ESB_HOSTS": "{dir}/hosts.toml.d"}),
    Case("toml-file-missing", cli("patch-axis2"), r"nowhere/hosts\.toml: file not found \(set ESB_HOSTS",
         env={"ESB_HOSTS": "{dir}/nowhere/hosts.toml"}),
    # ---------------------------------------------------------------- .env
    Case("env-not-utf8", env_file(b"SVN_PASSWORD=caf\xe9-svn-secret\n"), r"\.env: not UTF-8 text \(byte 16\)"),
    Case("env-misspelled-secret", env_file(b"SVN_PASWORD=typo-svn-secret\n"),
         r"SVN_PASSWORD is not set \(.*\); \.env sets SVN_PASWORD, a misspelling\?"),
    Case("env-secret-with-line-break", env_file(b'SVN_PASSWORD="first\nrepouser2 = injected"\n'),
         r"SVN_PASSWORD contains a line break; refused"),
    Case("env-unclosed-quote", env_file(b'WSO2_DB_PASSWORD=db-secret-1\nSVN_PASSWORD="unclosed-svn-secret\n'),
         r"\.env: line 2 is not NAME=value \(an unclosed quote, or text after the closing one\?\); its text is not "
         r"shown"),
    # ---------------------------------------------------------------- the run key (this machine's)
    Case("runkey-too-short", short_key, r"the run key .*/short\.key is 5 bytes \(a key has 32\), not a key: move it "
         r"away to have a new key made", env={"ESB_RUN_KEY_FILE": "{dir}/short.key"}),
    Case("runkey-a-folder", cli("-H", "esb-w1", "patch-axis2"), r"the run key .* is a folder, not a key",
         env={"ESB_RUN_KEY_FILE": "{dir}"}),
    # ---------------------------------------------------------------- command line
    Case("cli-verify-and-dry-run", cli("patch-axis2", "--verify", "--dry-run"),
         r"--verify and --dry-run exclude each other"),
    Case("cli-verify-and-dry-run-json", cli("patch-axis2", "--verify", "--dry-run", "--json"),
         r'\{\s*"mode": "patch",\s*"error": "--verify and --dry-run exclude each other",\s*"hosts": \{\},\s*"exit": 1'),
    Case("cli-empty-target-list", cli("-H", ",", "patch-axis2"), r"-H ',' names no target; known names: all, "),
    Case("cli-target-shell-metachars", cli("-H", "esb-w1;id", "patch-axis2"),
         r"unknown target 'esb-w1;id'; known names:"),
    Case("cli-unknown-flag", cli("patch-axis2", "--force"), r"No idea what '--force' is"),
    Case("cli-unknown-step-in-verify", cli("verify", "--steps", "patch-axis3"),
         r"--steps: unknown step 'patch-axis3'; known steps: .*patch-axis2"),
    Case("cli-setup-manager-on-workers", cli("-H", "workers", "setup-manager"),
         r"setup-manager runs on manager nodes only: esb-w1 is a worker \(use setup-worker\)"),
    # ---------------------------------------------------------------- remote files (esb-w1 only)
    Case("xml-billion-laughs", axis2(billion_laughs),
         r"axis2\.xml: carries a DOCTYPE/ENTITY declaration; refused \(entities are never expanded or fetched\)"),
    Case("xml-external-dtd-over-network", doctype('<!DOCTYPE axisconfig SYSTEM "{url}">\n'),
         r"axis2\.xml: carries a DOCTYPE/ENTITY declaration; refused"),
    Case("xml-parameter-entity-from-file", doctype('<!DOCTYPE axisconfig [ <!ENTITY % ext SYSTEM "file://{canary}"> '
                                                   '%ext; ]>\n'),
         r"axis2\.xml: carries a DOCTYPE/ENTITY declaration; refused"),
    Case("xml-fifo-instead-of-file", fifo, r"axis2\.xml: is not a regular file \(a FIFO, socket or device\); refused"),
    Case("xml-empty-file", axis2(lambda data, ctx: b""), r"axis2\.xml: not well-formed XML: Document is empty"),
    Case("xml-unknown-encoding", axis2(lambda data, ctx: data.replace(b"ISO-8859-1", b"X-BOGUS-8", 1)),
         r"axis2\.xml: not well-formed XML: Unsupported encoding: X-BOGUS-8"),
    Case("xml-no-clustering-element",
         axis2(lambda data, ctx: data.replace(b"clustering", b"clusterin")),
         r"axis2\.xml: no <clustering> element"),
    # ---------------------------------------------------------------- artifacts
    Case("artifact-not-a-zip", artifact(lambda p: p.write_text("<html>404 Not Found</html>")),
         r"\[artifacts\] mysql_connector_jar: .*mysql-connector-java-5\.1\.49\.jar is not a jar \(zip\) file"),
    Case("artifact-empty-file", artifact(lambda p: p.write_bytes(b"")),
         r"\[artifacts\] mysql_connector_jar: .* is not a jar \(zip\) file"),
    Case("artifact-is-a-directory", artifact(lambda p: p.mkdir()),
         r"\[artifacts\] mysql_connector_jar: .* is not a jar \(zip\) file"),
    Case("artifact-truncated-zip", artifact(lambda p: p.write_bytes(_zip_bytes()[:300])),
         r"\[artifacts\] mysql_connector_jar: .* is not a jar \(zip\) file"),
]


def _zip_bytes() -> bytes:
    import io
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n" * 40)
    return buf.getvalue()


@pytest.fixture
def listener():
    """A would-be entity server: any connection to it means the parser went to the network."""
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(5)
        srv.setblocking(False)
        yield srv


def test_the_matrix_has_at_least_25_distinct_inputs():
    assert len({c.id for c in CASES}) == len(CASES) >= 25


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_named_and_changes_nothing(lab, listener, case):
    canary = lab.dir / "canary.dtd"
    canary.write_text(f'<!ENTITY leak "{CANARY}">')
    (lab.dir / "hosts.toml.d").mkdir(exist_ok=True)
    ctx = {"url": f"http://127.0.0.1:{listener.getsockname()[1]}/evil.dtd", "canary": canary}
    args = case.prepare(lab, ctx)
    env = {k: v.format(dir=lab.dir) for k, v in case.env.items()}
    before = lab.snapshot()
    t0 = time.monotonic()
    r = lab.fab(*args, env=env, timeout=60)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert "Traceback" not in out, out
    assert re.search(case.expect, out), out
    assert lab.snapshot() == before
    assert time.monotonic() - t0 < 20  # no hang, no exponential expansion
    with pytest.raises(BlockingIOError):
        listener.accept()  # nothing was fetched over the network
    assert CANARY not in out and "lollollol" not in out
