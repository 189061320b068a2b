"""carbon.xml as Carbon 4.4 reads it (a default namespace; XmlDoc's paths take local names), defined
once for the cluster facts (probes/facts.py), the DepSync probes, and the planners of enable-depsync,
set-hostnames (steps/carbon.py), create-keystore and secure-vault: HostName, MgtHostName,
Ports/Offset, the Security key and trust stores (their passwords are the ones rules.KEYSTORE_PASSWORDS
protects; a unit test holds the two to one path) and the active <DeploymentSynchronizer>."""
from __future__ import annotations

from dataclasses import dataclass, field

from .securevault import vault_alias
from .xmldoc import XmlDoc

DEPSYNC = "DeploymentSynchronizer"
VERSION = "Version"
HOSTNAME = "HostName"
MGT_HOSTNAME = "MgtHostName"
PORTS = "Ports"
OFFSET = "Offset"
KEYSTORE = "Security/KeyStore"
TRUSTSTORE = "Security/TrustStore"
#: the store passwords, each under KEYSTORE or TRUSTSTORE (CONTRACT §8: create-keystore sets them)
KEYSTORE_PASSWORD, KEY_PASSWORD = f"{KEYSTORE}/Password", f"{KEYSTORE}/KeyPassword"
TRUSTSTORE_PASSWORD = f"{TRUSTSTORE}/Password"
#: the password DepSync logs into SVN with (enable-depsync writes it, secure-vault protects it)
SVN_PASSWORD = f"{DEPSYNC}/SvnPassword"


def ports(doc: XmlDoc):
    """The <Ports> element, or None."""
    return doc.find(PORTS)


@dataclass(frozen=True)
class Store:
    """A <KeyStore> or <TrustStore> of <Security>: what Carbon opens (the password as written: a
    password, or Secure Vault's placeholder when `password_alias` is set)."""

    location: str | None = None
    type: str | None = None
    password: str | None = field(default=None, repr=False)
    password_alias: str | None = None
    key_alias: str | None = None  # KeyAlias (the key store's only)


def read_store(doc: XmlDoc, path: str) -> Store | None:
    """The store at KEYSTORE or TRUSTSTORE, or None when the file has none."""
    el = doc.find(path)
    if el is None:
        return None
    pw = child(doc, el, "Password")
    return Store(doc.find_text("Location", el), doc.find_text("Type", el), doc.find_text("Password", el),
                 None if pw is None else vault_alias(pw), doc.find_text("KeyAlias", el))


def depsyncs(doc: XmlDoc) -> list:
    """Every active <DeploymentSynchronizer> (Carbon reads one; the shipped registry example is a comment)."""
    return doc.findall(DEPSYNC)


def depsync(doc: XmlDoc):
    """The first active <DeploymentSynchronizer>, or None."""
    return doc.find(DEPSYNC)


def child(doc: XmlDoc, ds, tag: str):
    """A child of <DeploymentSynchronizer> by local name, or None."""
    return doc.find(tag, ds)


@dataclass(frozen=True)
class DepSync:
    """What the active <DeploymentSynchronizer> holds. `svn_password` is the text as
    written: a password, or Secure Vault's placeholder when `svn_password_alias` is set (the
    caller decides what is a secret)."""

    enabled: str | None = None
    auto_commit: str | None = None
    svn_url: str | None = None
    svn_user: str | None = None
    svn_password: str | None = field(default=None, repr=False)
    svn_password_alias: str | None = None
    append_tenant_id: str | None = None  # SvnUrlAppendTenantId (carbon-commons: true unless it says false)
    auto_sync_period: str | None = None  # AutoSyncPeriod, seconds between two syncs (carbon-commons: 60)


def read_depsync(doc: XmlDoc) -> DepSync | None:
    """The DepSync values of carbon.xml; None when it has no active <DeploymentSynchronizer>."""
    ds = depsync(doc)
    if ds is None:
        return None
    pw = child(doc, ds, "SvnPassword")
    return DepSync(doc.find_text("Enabled", ds), doc.find_text("AutoCommit", ds), doc.find_text("SvnUrl", ds),
                   doc.find_text("SvnUser", ds), doc.find_text("SvnPassword", ds),
                   None if pw is None else vault_alias(pw), doc.find_text("SvnUrlAppendTenantId", ds),
                   doc.find_text("AutoSyncPeriod", ds))


@dataclass(frozen=True)
class Carbon:
    """Everything the project reads of carbon.xml (None: the file does not say)."""

    hostname: str | None = None
    mgt_hostname: str | None = None
    offset: str | None = None  # Ports/Offset
    keystore: Store | None = None
    truststore: Store | None = None
    depsync: DepSync | None = None


def read(doc: XmlDoc) -> Carbon:
    """carbon.xml's values, from active elements only (a commented-out MgtHostName is not read)."""
    return Carbon(doc.find_text(HOSTNAME), doc.find_text(MGT_HOSTNAME), doc.find_text(f"{PORTS}/{OFFSET}"),
                  read_store(doc, KEYSTORE), read_store(doc, TRUSTSTORE), read_depsync(doc))


#: carbon-commons' DeploymentSynchronizerConstants.DEFAULT_AUTO_SYNC_PERIOD (seconds)
DEFAULT_SYNC_PERIOD = 60


def sync_period(ds: DepSync) -> int:
    """The seconds between two DepSync runs: AutoSyncPeriod, else carbon-commons' default."""
    text = (ds.auto_sync_period or "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else DEFAULT_SYNC_PERIOD


def tenant_url(url: str, append_tenant_id: str | None, tenant: int = -1234) -> str:
    """The URL carbon-commons' SVN synchronizer works on: SvnUrl, plus `/<tenant id>` (the super
    tenant: -1234) unless SvnUrlAppendTenantId says false (SVNBasedArtifactRepository.init)."""
    if (append_tenant_id or "true").strip().lower() == "false":
        return url
    return (url if url.endswith("/") else url + "/") + str(tenant)
