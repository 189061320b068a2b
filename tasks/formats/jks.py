"""Java KeyStores (JKS), read in pure Python: entries, the store's integrity check, the private key.

Carbon 4.4 keeps its key pair in `wso2carbon.jks` and the certificates it trusts in
`client-truststore.jks`, both in Sun's JKS format.  This module reads that format as
`sun.security.provider.JavaKeyStore` writes it:

- magic 0xFEEDFEED, version 2, entry count; per entry a tag (1 = private key, 2 = trusted
  certificate), the alias (Java's modified UTF-8), a timestamp, then for a key the
  protected key and its certificate chain, for a certificate its DER;
- a trailer SHA-1 over the password (UTF-16BE, as Java's `char[]`), the words
  "Mighty Aphrodite" and every byte before it: the store's password check;
- a key protected by `sun.security.provider.KeyProtector`: salt, the PKCS#8 key XORed with
  a SHA-1 stream of password and salt, and a SHA-1 check of password and key.

Nothing here writes a keystore: keytool does that on the node (create-keystore).
"""
from __future__ import annotations

import hashlib
import hmac
import struct
from dataclasses import dataclass, field
from datetime import datetime, timezone

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import load_der_private_key

JKS_MAGIC = 0xFEEDFEED
JCEKS_MAGIC = 0xCECECECE
PRIVATE_KEY, TRUSTED_CERT = 1, 2
#: the OID of Sun's JKS key protection (1.3.6.1.4.1.42.2.17.1.1), DER-encoded
KEY_PROTECTOR_OID = bytes.fromhex("2b060104012a02110101")
_WHITENER = b"Mighty Aphrodite"


class JksError(Exception):
    """The bytes are not a JKS keystore this module can read, or a password does not open it."""


@dataclass
class KeyEntry:
    """A private key entry: its alias, the protected key bytes and the certificate chain (DER, leaf first)."""

    alias: str
    protected: bytes
    chain: list[bytes]
    timestamp: datetime | None = None

    @property
    def cert(self) -> x509.Certificate:
        return x509.load_der_x509_certificate(self.chain[0])


@dataclass
class Keystore:
    """The entries of one JKS file and what its password check needs."""

    keys: dict[str, KeyEntry] = field(default_factory=dict)
    certs: dict[str, bytes] = field(default_factory=dict)  # trusted certificate entries: alias -> DER
    body: bytes = b""
    digest: bytes = b""
    version: int = 2
    spans: dict[str, tuple[int, int]] = field(default_factory=dict)  # alias -> (start, end) of its entry bytes

    def opens_with(self, password: str) -> bool:
        """True when the store's integrity check holds for this password (keytool's -storepass)."""
        mac = hashlib.sha1(password_bytes(password) + _WHITENER + self.body).digest()
        return hmac.compare_digest(mac, self.digest)

    def all_certs(self) -> list[bytes]:
        """Every certificate the store holds (trusted entries and each key's chain), DER."""
        return list(self.certs.values()) + [c for k in self.keys.values() for c in k.chain]


def fingerprint(der: bytes) -> str:
    """SHA-256 of a certificate (DER), hex."""
    return x509.load_der_x509_certificate(der).fingerprint(hashes.SHA256()).hex()


def password_bytes(password: str) -> bytes:
    """A password as Java hands a char[] to JKS: UTF-16, big-endian, two bytes a char (surrogates for the rest)."""
    return password.encode("utf-16-be")


def store_type(data: bytes) -> str:
    """What kind of keystore these bytes are: 'JKS', 'JCEKS', 'PKCS12' (DER) or 'unknown'."""
    if len(data) >= 4:
        magic = struct.unpack(">I", data[:4])[0]
        if magic == JKS_MAGIC:
            return "JKS"
        if magic == JCEKS_MAGIC:
            return "JCEKS"
    if data[:1] == b"\x30":
        return "PKCS12"
    return "unknown"


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise JksError("truncated keystore")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u16(self) -> int:
        return struct.unpack(">H", self.take(2))[0]

    def u32(self) -> int:
        return struct.unpack(">I", self.take(4))[0]

    def u64(self) -> int:
        return struct.unpack(">Q", self.take(8))[0]

    def utf(self) -> str:
        return self.take(self.u16()).decode("utf-8", errors="replace")

    def blob(self) -> bytes:
        return self.take(self.u32())


def parse(data: bytes) -> Keystore:
    """The entries of a JKS keystore; JksError for anything else (named by its kind) or a damaged file."""
    kind = store_type(data)
    if kind != "JKS":
        raise JksError(f"not a JKS keystore (it looks like {kind})" if kind != "unknown" else "not a JKS keystore")
    r = _Reader(data)
    r.take(4)
    version = r.u32()
    if version not in (1, 2):
        raise JksError(f"unsupported JKS version {version}")
    ks = Keystore()
    ks.version = version
    for _ in range(r.u32()):
        start = r.pos
        tag = r.u32()
        alias = r.utf()
        when = datetime.fromtimestamp(r.u64() / 1000, timezone.utc)
        if tag == PRIVATE_KEY:
            protected = r.blob()
            chain = []
            for _ in range(r.u32()):
                if version == 2:
                    r.utf()  # certificate type, "X.509"
                chain.append(r.blob())
            ks.keys[alias] = KeyEntry(alias, protected, chain, when)
        elif tag == TRUSTED_CERT:
            if version == 2:
                r.utf()
            ks.certs[alias] = r.blob()
        else:
            raise JksError(f"unknown entry type {tag} for alias {alias!r}")
        ks.spans[alias] = (start, r.pos)
    ks.body = data[:r.pos]
    ks.digest = r.take(20)
    return ks


def _utf(text: str) -> bytes:
    raw = text.encode("utf-8")
    return struct.pack(">H", len(raw)) + raw


def trusted_entry(alias: str, der: bytes, when: datetime) -> bytes:
    """The bytes of one trusted-certificate entry (version 2), as keytool -importcert writes it."""
    return (struct.pack(">I", TRUSTED_CERT) + _utf(alias) + struct.pack(">Q", int(when.timestamp() * 1000))
            + _utf("X.509") + struct.pack(">I", len(der)) + der)


def with_trusted(data: bytes, add: dict[str, bytes], password: str, when: datetime | None = None) -> bytes:
    """A trust store's bytes with these certificates trusted (alias -> DER; an entry of that alias
    is replaced) and its integrity check made with `password`: every other entry is kept byte for
    byte.  Aliases are lower-cased, as JKS keeps them."""
    ks = parse(data)
    if ks.version != 2:
        raise JksError(f"JKS version {ks.version} is not supported for writing")
    when = when or datetime.now(timezone.utc)
    add = {a.lower(): der for a, der in add.items()}
    kept = [data[s:e] for alias, (s, e) in ks.spans.items() if alias.lower() not in add]
    entries = kept + [trusted_entry(a, der, when) for a, der in add.items()]
    body = struct.pack(">III", JKS_MAGIC, 2, len(entries)) + b"".join(entries)
    return body + hashlib.sha1(password_bytes(password) + _WHITENER + body).digest()


def _der(data: bytes, pos: int) -> tuple[int, bytes, int]:
    """(tag, content, next position) of the DER element at pos."""
    if pos + 2 > len(data):
        raise JksError("truncated key")
    tag, length = data[pos], data[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        length = int.from_bytes(data[pos:pos + n], "big")
        pos += n
    if pos + length > len(data):
        raise JksError("truncated key")
    return tag, data[pos:pos + length], pos + length


def unprotect(entry: KeyEntry, password: str) -> bytes:
    """The PKCS#8 DER of a key entry protected by Sun's KeyProtector; JksError when the password is wrong."""
    tag, seq, _ = _der(entry.protected, 0)
    if tag != 0x30:
        raise JksError("protected key is not an EncryptedPrivateKeyInfo")
    tag, algo, pos = _der(seq, 0)
    _, oid, _ = _der(algo, 0)
    if oid != KEY_PROTECTOR_OID:
        raise JksError("key is not protected the JKS way")
    tag, enc, _ = _der(seq, pos)
    if tag != 0x04 or len(enc) < 40:
        raise JksError("protected key is malformed")
    salt, body, check = enc[:20], enc[20:-20], enc[-20:]
    pw = password_bytes(password)
    stream, digest = bytearray(), salt
    while len(stream) < len(body):
        digest = hashlib.sha1(pw + digest).digest()
        stream += digest
    key = bytes(a ^ b for a, b in zip(body, stream, strict=False))
    if not hmac.compare_digest(hashlib.sha1(pw + key).digest(), check):
        raise JksError("the key password does not open the key")
    return key


def private_key(entry: KeyEntry, password: str) -> rsa.RSAPrivateKey:
    """The entry's RSA private key (in memory only)."""
    key = load_der_private_key(unprotect(entry, password), None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise JksError(f"the key of {entry.alias!r} is not an RSA key")
    return key


def encrypt(cert: x509.Certificate, plain: str) -> bytes:
    """RSA PKCS#1 v1.5 under the certificate's key, of the UTF-8 text: what WSO2's cipher tool
    writes (`Cipher.getInstance("RSA")`, before base64). A certificate of another kind of key is
    refused (JksError): Secure Vault's cipher tool only encrypts with RSA."""
    return rsa_public(cert).encrypt(plain.encode("utf-8"), padding.PKCS1v15())


def rsa_public(cert: x509.Certificate) -> rsa.RSAPublicKey:
    """The certificate's RSA key; a certificate of another kind of key is refused (JksError): Secure
    Vault's cipher tool encrypts with RSA only."""
    public = cert.public_key()
    if not isinstance(public, rsa.RSAPublicKey):
        raise JksError(f"the certificate of {cert.subject.rfc4514_string()} holds no RSA key; Secure Vault "
                       f"encrypts with RSA only")
    return public


def decrypt(key: rsa.RSAPrivateKey, cipher: bytes) -> str | None:
    """The UTF-8 text a cipher value holds, or None when this key does not decrypt it."""
    try:
        return key.decrypt(cipher, padding.PKCS1v15()).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None


__all__ = ["Keystore", "KeyEntry", "JksError", "parse", "with_trusted", "trusted_entry", "store_type", "unprotect",
           "private_key", "encrypt", "rsa_public",
           "decrypt", "password_bytes"]
