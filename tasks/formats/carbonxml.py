"""carbon.xml as Carbon 4.4 reads it (a default namespace; XmlDoc's paths take local names): the
active <DeploymentSynchronizer> and its children, defined once for the cluster facts
(probes/facts.py) and enable-depsync's planner (steps/carbon.py)."""
from __future__ import annotations

from dataclasses import dataclass, field

from .securevault import vault_alias
from .xmldoc import XmlDoc

DEPSYNC = "DeploymentSynchronizer"


def depsyncs(doc: XmlDoc) -> list:
    """Every active <DeploymentSynchronizer> (Carbon reads one; the shipped registry example is a comment)."""
    return doc.findall(DEPSYNC)


def depsync(doc: XmlDoc):
    """The first active <DeploymentSynchronizer>, or None."""
    return doc.find(DEPSYNC)


def child(doc: XmlDoc, ds, tag: str):
    """A child of <DeploymentSynchronizer> by local name, or None."""
    return doc.find(tag, ds)


@dataclass
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
