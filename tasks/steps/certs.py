"""create-certs: an RSA key and a self-signed certificate per cluster hostname
(guide: Crear los certificados SSL).

For `cluster.hostname` and `cluster.mgt_hostname`, `<certs.dir>/<hostname>.key` and
`<hostname>.crt` are made by openssl ON the target (unencrypted key, mode 0600 from
its creation, SHA-256, CN and subjectAltName = hostname, `certs.days`).  The private
key never leaves the host: verify reads only the certificates over SFTP (parsed here
with `cryptography`), the key's mode over SFTP stat, and the key's public half from
one openssl command for all keys; backups of replaced keys are copies made on the host.
"""
from __future__ import annotations

import posixpath
import re
import shlex
import stat as statmod
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key
from cryptography.x509.oid import NameOID

from ..config import Host, Inventory
from ..engine.ops import Op, run_or_fail
from ..engine.plan import Item, Plan
from ..remote import SMALL_LIMIT
from ..remote.replace import enter, install, work, work_name
from .base import Step
from ..engine.context import StepContext, StepError

KEY_MODE = 0o600
EXPIRY_MARGIN = timedelta(days=30)
#: how far a host's clock may run ahead of this machine's: a certificate
#: made there a moment ago is valid
CLOCK_SKEW = timedelta(minutes=10)
GOOD_HASHES = ("sha256", "sha384", "sha512")
#: openssl config for `req -x509`; the hostname comes from the environment of each invocation
OPENSSL_CNF = (
    "[req]", "distinguished_name = dn", "prompt = no", "x509_extensions = server",
    "[dn]", "CN = $ENV::ESB_CN",
    "[server]", "subjectAltName = DNS:$ENV::ESB_CN", "basicConstraints = critical,CA:FALSE",
    "keyUsage = critical,digitalSignature,keyEncipherment", "extendedKeyUsage = serverAuth",
    "subjectKeyIdentifier = hash",
)
_PEM_PUB = re.compile(r"-----BEGIN PUBLIC KEY-----.*?-----END PUBLIC KEY-----", re.S)


def cert_hostnames(inv: Inventory) -> list[str]:
    """The names that get a pair: cluster.hostname and cluster.mgt_hostname (once each)."""
    return list(dict.fromkeys((inv.cluster.hostname, inv.cluster.mgt_hostname)))


def pair_paths(d: str, hostname: str) -> tuple[str, str]:
    """(key, certificate) paths of a hostname in the certs directory."""
    return posixpath.join(d, f"{hostname}.key"), posixpath.join(d, f"{hostname}.crt")


@dataclass
class PairState:
    """What the host holds for one hostname (all None: nothing there)."""

    hostname: str
    key_mode: int | None = None       # permission bits of the key; None when the key is absent
    public_key: bytes | None = None   # PEM of the key's public half, as openssl printed it on the host
    key_error: str | None = None      # why openssl could not read the key
    cert: bytes | None = None         # the certificate PEM (public), None when absent


def check_pair(s: PairState, d: str, key_bits: int, now: datetime) -> list[Item]:
    """Pure: every way the pair differs from a valid one for s.hostname."""
    key, crt = pair_paths(d, s.hostname)
    items: list[Item] = []
    if s.key_mode is None:
        items.append(Item(key, "private key", "present", None))
    else:
        if s.key_mode != KEY_MODE:
            items.append(Item(key, "mode", f"{KEY_MODE:04o}", f"{s.key_mode:04o}"))
        if s.key_error:
            items.append(Item(key, "private key", "readable, unencrypted", s.key_error))
    if s.cert is None:
        items.append(Item(crt, "certificate", "present", None))
        return items
    try:
        cert = x509.load_pem_x509_certificate(s.cert)
    except ValueError:
        items.append(Item(crt, "certificate", "a PEM X.509 certificate", "unparsable"))
        return items
    items += check_cert(cert, s.hostname, crt, key_bits, now)
    if s.public_key is not None and not same_key(cert, s.public_key):
        items.append(Item(key, "matches certificate", "yes", "no"))
    return items


def check_cert(cert: x509.Certificate, hostname: str, label: str, key_bits: int, now: datetime) -> list[Item]:
    """Pure: CN, subjectAltName, signature hash, RSA key size and validity of one certificate."""
    items: list[Item] = []
    cn = ", ".join(str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)) or None
    if cn != hostname:
        items.append(Item(label, "subject CN", hostname, cn))
    san = subject_alt_names(cert)
    if f"DNS:{hostname}" not in (san or "").split(", "):  # other names beside it (a CA-issued cert) are fine
        items.append(Item(label, "subjectAltName", f"DNS:{hostname}", san))
    algo = cert.signature_hash_algorithm.name if cert.signature_hash_algorithm else None
    if algo not in GOOD_HASHES:
        items.append(Item(label, "signature hash", "sha256", algo))
    pub = cert.public_key()
    if not isinstance(pub, rsa.RSAPublicKey):
        items.append(Item(label, "key type", "RSA", type(pub).__name__))
    elif pub.key_size < key_bits:
        items.append(Item(label, "RSA key bits", f">= {key_bits}", str(pub.key_size)))
    if cert.not_valid_before_utc > now + CLOCK_SKEW:  # a node's clock a little ahead of this machine's is fine
        items.append(Item(label, "notBefore", f"<= {now:%Y-%m-%d %H:%M}Z",
                          f"{cert.not_valid_before_utc:%Y-%m-%d %H:%M}Z"))
    after = cert.not_valid_after_utc
    if after - now < EXPIRY_MARGIN:
        state = "expired" if after <= now else f"expires in {(after - now).days} days"
        items.append(Item(label, "notAfter", f"more than {EXPIRY_MARGIN.days} days ahead",
                          f"{after:%Y-%m-%d %H:%M}Z ({state})"))
    return items


def needs_renewal(items: list[Item]) -> bool:
    """Pure: True when a pair's findings call for a new key and certificate, False when at
    most the key's mode is wrong (a chmod fixes that; a CA-issued pair the load balancer
    trusts is never thrown away for it)."""
    return any(i.what != "mode" for i in items)


def chmod_command(keys: list[str]) -> str:
    """The one remote command that sets the keys' mode to 0600 (as shown; `guarded` runs it)."""
    return f"chmod {KEY_MODE:o} " + " ".join(shlex.quote(k) for k in keys)


def guarded(command: str, keys: list[str]) -> str:
    """The command run only when none of the keys is a symbolic link (a link planted at a key's name is
    refused, never followed to another file)."""
    names = " ".join(shlex.quote(k) for k in keys)
    check = f"for k in {names}; do [ ! -L \"$k\" ] || {{ echo \"$k: a symbolic link; refused\" >&2; exit 3; }}; done"
    return f"sh -c {shlex.quote(check + '; ' + command)}"


def subject_alt_names(cert: x509.Certificate) -> str | None:
    """The subjectAltName as 'DNS:a, IP:b', or None when the certificate has none."""
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return None
    kinds: dict[type, str] = {x509.DNSName: "DNS", x509.IPAddress: "IP", x509.RFC822Name: "email",
                              x509.UniformResourceIdentifier: "URI"}
    return ", ".join(f"{kinds.get(type(n), type(n).__name__)}:{n.value}" for n in ext.value)


def same_key(cert: x509.Certificate, public_pem: bytes) -> bool:
    """True when the certificate certifies this public key."""
    try:
        pub = load_pem_public_key(public_pem)
    except ValueError:
        return False
    spki = lambda k: k.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return spki(pub) == spki(cert.public_key())


def pubkey_command(keys: list[str]) -> str:
    """One remote command printing the public half of each key (never the key itself)."""
    q = shlex.quote
    script = (f"for k in {' '.join(q(k) for k in keys)}; do echo \"=== $k\"; "
              "openssl pkey -in \"$k\" -pubout -passin pass: 2>&1 </dev/null; done")
    return f"sh -c {q(script)}"


def parse_pubkeys(out: str) -> dict[str, tuple[bytes | None, str | None]]:
    """Pure: {key path: (public PEM, None) or (None, openssl's complaint)} from pubkey_command output."""
    result: dict[str, tuple[bytes | None, str | None]] = {}
    for block in re.split(r"^=== ", out, flags=re.M)[1:]:
        path, _, text = block.partition("\n")
        m = _PEM_PUB.search(text)
        if m:
            result[path] = (m.group().encode(), None)
        else:
            first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "openssl printed nothing")
            result[path] = (None, f"unreadable or encrypted ({first})")
    return result


def renew_script(d: str, hostnames: list[str], bits: int, days: int, real: str | None = None) -> str:
    """The one shell script that makes fresh pairs: the folder made if missing, then (umask 077)
    every key and certificate made inside a fresh private folder of it (random name, mode 0700)
    and installed over the old ones (tasks/remote/replace.py; `real`: the folder's real path as
    checked; no fixed temporary name, no link followed)."""
    q = shlex.quote
    real = real or d
    w = work_name(f"{hostnames[0]}.key" if hostnames else "certs")  # a dead run's is found by the key's name
    lines = ["set -e", "umask 022", f"mkdir -p -- {q(d)}", "umask 077", enter(d, real), work(real, w),
             "printf '%s\\n' " + " ".join(q(ln) for ln in OPENSSL_CNF) + " > esb-certs.cnf"]
    for h in hostnames:
        lines += [f"ESB_CN={q(h)} openssl req -x509 -new -newkey rsa:{bits} -nodes -sha256 -days {days} "
                  f"-config esb-certs.cnf -keyout {q(h + '.key')} -out {q(h + '.crt')}",
                  install(f"{h}.key", f"{h}.key", KEY_MODE), install(f"{h}.crt", f"{h}.crt", 0o644)]
    return "; ".join(lines)


def read_pairs(ctx: StepContext, d: str, hostnames: list[str]) -> list[PairState]:
    """Stat the keys, read the certificates (SFTP), and ask openssl for the keys' public halves (one command)."""
    states = []
    for h in hostnames:
        key, crt = pair_paths(d, h)
        st = ctx.remote.stat(key)
        if st is not None and not st.is_file:
            raise StepError(f"{key} on {ctx.host.name} is not a regular file")
        states.append(PairState(h, None if st is None else statmod.S_IMODE(st.mode),
                                cert=ctx.remote.read(crt, SMALL_LIMIT, "a certificate")))
    present = [s for s in states if s.key_mode is not None]
    if present:
        _, out, _ = ctx.remote.run(pubkey_command([pair_paths(d, s.hostname)[0] for s in present]),
                                   sudo=True, check=False)
        if re.search(r"openssl: (command )?not found", out):
            raise StepError(f"openssl is not installed on {ctx.host.name}")
        found = parse_pubkeys(out)
        for s in present:
            s.public_key, s.key_error = found.get(pair_paths(d, s.hostname)[0], (None, "not checked"))
    return states


def check_creatable(ctx: StepContext, d: str) -> None:
    """A missing certs dir must be creatable: its nearest existing ancestor is a writable directory."""
    anc = d
    while True:
        anc = posixpath.dirname(anc)
        st = ctx.remote.stat(anc)
        if st is not None:
            break
    why = None
    if not st.is_dir:
        why = f"{anc} is not a directory"
    elif ctx.remote.run(f"test -w {shlex.quote(anc)}", sudo=True, check=False)[0] != 0:
        how = " even with sudo" if ctx.remote.can_sudo else " (set sudo = true for this host?)"
        why = f"{anc} is not writable by {ctx.host.user}{how}"
    if why:
        raise StepError(f"[certs].dir {d} cannot be created on {ctx.host.name}: {why}")


@dataclass(frozen=True)
class RenewPairs(Op):
    """Fresh pairs for `hostnames` in `dir`: the old ones backed up on the host, then one openssl script."""

    dir: str
    hostnames: tuple[str, ...]
    key_bits: int
    days: int

    def describe(self) -> str:
        return renew_script(self.dir, list(self.hostnames), self.key_bits, self.days)

    def perform(self, ctx: StepContext) -> None:
        ctx.remote.backup_on_host([p for h in self.hostnames for p in pair_paths(self.dir, h)], sudo=True)
        # a big RSA key takes a while: (bits / 2048)^3 seconds per pair on top of [run].op_timeout
        script = renew_script(self.dir, list(self.hostnames), self.key_bits, self.days,
                              ctx.remote.realpath(self.dir))
        run_or_fail(ctx, f"sh -c {shlex.quote(script)}",
                    f"openssl on {ctx.host.name} could not make the certificates in {self.dir}",
                    extra_time=len(self.hostnames) * (self.key_bits / 2048) ** 3 * 2)


@dataclass(frozen=True)
class TightenKeys(Op):
    """Keys whose only fault is their mode: backed up on the host (their old mode, for rollback), then 0600."""

    keys: tuple[str, ...]

    def describe(self) -> str:
        return chmod_command(list(self.keys))

    def perform(self, ctx: StepContext) -> None:
        ctx.remote.backup_on_host(list(self.keys), sudo=True)
        run_or_fail(ctx, guarded(self.describe(), list(self.keys)),
                    f"cannot set mode 0600 on the keys on {ctx.host.name}")


class CreateCerts(Step):
    name = "create-certs"
    shared = True  # certs.dir is the machine's
    phase = "certificates"
    help = ("RSA key (0600, unencrypted) + self-signed SHA-256 certificate per cluster hostname in certs.dir, "
            "CN and subjectAltName = hostname (guide: Crear los certificados SSL)")
    esb_only = False

    def default_targets(self, inv: Inventory) -> list[Host]:
        """The load balancers, else the manager."""
        return inv.by_role("lb") or inv.by_role("manager")

    def applies_to(self, host: Host, inv: Inventory) -> str | None:
        if host.role in ("db", "svn"):
            return f"certificates go on a load balancer or an ESB node, not a {host.role} host"
        return None

    def plan(self, ctx: StepContext) -> Plan:
        c = ctx.inv.certs
        d = c.dir
        names = cert_hostnames(ctx.inv)
        plan = Plan()
        st = ctx.remote.stat(d)
        if st is None:
            check_creatable(ctx, d)
            plan.items.append(Item(d, "directory", "present", None))
            states = [PairState(h) for h in names]
        elif not st.is_dir:
            raise StepError(f"[certs].dir {d} on {ctx.host.name} is not a directory")
        else:
            states = read_pairs(ctx, d, names)
        now = datetime.now(timezone.utc)
        flagged, loose = [], []
        for s in states:
            items = check_pair(s, d, c.key_bits, now)
            plan.items += items
            if needs_renewal(items):
                flagged.append(s.hostname)
            elif items:  # only the key's mode is wrong: keep the pair, tighten the mode
                loose.append(pair_paths(d, s.hostname)[0])
        if flagged:
            plan.actions.append(RenewPairs(d, tuple(flagged), c.key_bits, c.days))
        if loose:
            plan.actions.append(TightenKeys(tuple(loose)))
        return plan


__all__ = ["CreateCerts", "PairState", "check_pair", "check_cert", "parse_pubkeys", "renew_script",
           "pubkey_command", "cert_hostnames", "needs_renewal", "chmod_command"]
