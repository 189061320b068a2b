"""Shared helpers of the unit tests: a valid inventory, the product fixture's bytes, planner runs."""
from __future__ import annotations

import tomllib
from pathlib import Path

from tasks.config import Inventory
from tasks.hoststoml import parse_inventory
from tasks.engine.plan import FileChange
from tasks.secrets import Secrets
from tasks.steps.base import XmlEdits, plan_xml
from tests.lab import CLUSTER_TOML, product_fixture

BASE_TOML = CLUSTER_TOML + """
[defaults]
user = "wso2"
product_home = "/opt/wso2esb-4.9.0"

[hosts.esb-mgr]
address = "192.168.1.12"
role = "manager"
member_port = 4100

[hosts.esb-w1]
address = "192.168.1.13"
role = "worker"
member_port = 4200

[hosts.esb-w2]
address = "192.168.1.14"
role = "worker"
member_port = 4300

[hosts.db1]
address = "192.168.1.20"
role = "db"

[groups]
canary = ["esb-w1"]

[database]
host = "db1"

[svn]
host = "esb-mgr"
url = "svn://192.168.1.12/depsyncrepo/"
user = "repouser"
"""


def base_data() -> dict:
    """A fresh dict of the valid base hosts.toml (mutate it freely)."""
    return tomllib.loads(BASE_TOML)


def inventory(data: dict | None = None, path: str = "/etc/esb/hosts.toml") -> Inventory:
    """A validated Inventory from data (default: the base hosts.toml)."""
    return parse_inventory(base_data() if data is None else data, Path(path))


def shipped(rel: str) -> bytes:
    """Bytes of a file of the product fixture, relative to the product home."""
    return (product_fixture() / rel).read_bytes()


def run_planner(rel: str, planner, host: str, inv: Inventory | None = None,
                secrets: Secrets | None = None, data: bytes | None = None) -> tuple[XmlEdits, FileChange]:
    """Plan one file on one host; return the edits and the FileChange (diff) they make."""
    inv = inv or inventory()
    old = shipped(rel) if data is None else data
    edits = plan_xml(old, rel, planner, inv.hosts[host], inv, secrets or Secrets({}))
    return edits, FileChange(rel, old, edits.doc.render(), secret_lines=tuple(edits.secret_values))


def changed_lines(fc: FileChange) -> list[str]:
    """The +/- lines of a FileChange's diff, without headers."""
    return [ln for ln in fc.diff().splitlines() if ln[:1] in "+-" and not ln.startswith(("+++", "---"))]


#: every secret a step may ask for (none of them the shipped value)
STEP_SECRETS = {"SVN_PASSWORD": "Svn-pässword1", "WSO2_DB_PASSWORD": "Db-pässword22", "ADMIN_PASSWORD": "Admin-pass33",
                "KEYSTORE_PASSWORD": "Keystore-pass44"}


def plan_on(step, node, inv: Inventory | None = None, secrets: dict | None = None, mode=None, others=None,
            memo: dict | None = None):
    """(the plan, the context) of a step on a MemoryNode (tests/memnode.py), as a run of `mode` (patch) makes it."""
    from tasks.engine.mode import Mode
    from tests.memnode import node_context
    ctx = node_context(node, inv or inventory(), Secrets(dict(STEP_SECRETS if secrets is None else secrets)),
                       mode or Mode.PATCH, others, memo)
    return step.plan(ctx), ctx


def patch_on(step, node, inv: Inventory | None = None, secrets: dict | None = None, others=None,
             memo: dict | None = None):
    """Plan a step on a MemoryNode and apply the plan as patch does (step.apply); the plan."""
    plan, ctx = plan_on(step, node, inv, secrets, None, others, memo)
    if plan.refusals:
        raise AssertionError(f"patch would refuse: {plan.refusals}")
    if plan:
        step.apply(ctx, plan)
    return plan


def whats(plan) -> list[tuple[str, str]]:
    """(file, what) of each item of a plan, in order."""
    return [(i.file, i.what) for i in plan.items]


def own_keystore(password: str, cn: str, ip: str, days: int = 365, bits: int = 2048, key=None) -> bytes:
    """A JKS keystore holding a node's own key (alias wso2carbon, CN and subjectAltName as create-keystore's
    keytool makes them), written here in Python the way sun.security.provider.JavaKeyStore and KeyProtector
    write one (tasks/formats/jks.py reads them): what keytool on a node would leave, for tests without keytool."""
    import hashlib
    import os
    import struct
    from datetime import datetime, timedelta, timezone
    from ipaddress import ip_address

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
    from cryptography.x509.oid import NameOID

    from tasks.formats import jks

    key = key or _rsa_key(bits)
    now = datetime.now(timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=1))
            .not_valid_after(now + timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(cn), x509.IPAddress(ip_address(ip))]),
                           critical=False)
            .sign(key, hashes.SHA256())).public_bytes(Encoding.DER)
    plain = key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
    pw = jks.password_bytes(password)
    salt = os.urandom(20)
    stream, digest = bytearray(), salt
    while len(stream) < len(plain):
        digest = hashlib.sha1(pw + digest).digest()
        stream += digest
    protected = salt + bytes(a ^ b for a, b in zip(plain, stream)) + hashlib.sha1(pw + plain).digest()

    def tlv(tag: int, body: bytes) -> bytes:
        n = len(body)
        size = bytes([n]) if n < 0x80 else bytes([0x80 | ((n.bit_length() + 7) // 8)]) + n.to_bytes(
            (n.bit_length() + 7) // 8, "big")
        return bytes([tag]) + size + body
    epki = tlv(0x30, tlv(0x30, tlv(0x06, jks.KEY_PROTECTOR_OID) + b"\x05\x00") + tlv(0x04, protected))
    utf = lambda s: struct.pack(">H", len(s.encode())) + s.encode()
    entry = (struct.pack(">I", jks.PRIVATE_KEY) + utf("wso2carbon") + struct.pack(">Q", int(now.timestamp() * 1000))
             + struct.pack(">I", len(epki)) + epki + struct.pack(">I", 1) + utf("X.509")
             + struct.pack(">I", len(cert)) + cert)
    body = struct.pack(">III", jks.JKS_MAGIC, 2, 1) + entry
    return body + hashlib.sha1(pw + b"Mighty Aphrodite" + body).digest()


_KEYS: dict[int, object] = {}


def _rsa_key(bits: int):
    """One RSA key per size for the whole test session (making one takes a while)."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    if bits not in _KEYS:
        _KEYS[bits] = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return _KEYS[bits]


def answer_keytool(node) -> None:
    """The node's keytool, as create-keystore's key script runs it (tasks/steps/keystore.genkey_script): the
    password on stdin, the CN and subjectAltName from its -dname and -ext, the mode its install gives; the
    keystore it leaves is own_keystore's."""
    import re

    from tasks.rules import KEYSTORE

    def keytool(command: str, stdin: bytes | None, sudo: bool):
        password = (stdin or b"").decode().split("\n")[0]
        cn = re.search(r"-dname '?CN=([^' ]+)", command).group(1)
        ip = re.search(r"SAN=dns:[^,]+,ip:([0-9a-fA-F.:]+)", command).group(1)
        mode = int(re.search(r"chmod (\d+) -- new", command).group(1), 8)
        node.add_file(f"{node.host.product_home}/{KEYSTORE}", own_keystore(password, cn, ip), mode)
        return 0, "", ""
    node.on(r"-genkeypair", keytool)


def recorded(monkeypatch, sftp, *names: str) -> list[tuple[str, str]]:
    """The SFTP session's `names` requests (paramiko methods, e.g. stat, lstat, listdir), recorded as (request,
    path) as they are made; the requests still go out."""
    asked: list[tuple[str, str]] = []
    for name in names:
        def call(path, *a, _orig=getattr(sftp, name), _name=name):
            asked.append((_name, path))
            return _orig(path, *a)
        monkeypatch.setattr(sftp, name, call)
    return asked
