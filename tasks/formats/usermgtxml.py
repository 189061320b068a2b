"""user-mgt.xml as Carbon 4.4 reads it (RealmConfigXMLProcessor): the realm's <Configuration>, its
admin user (name and password) and the user store's dataSource property, defined once for
set-admin-password, configure-datasources and secure-vault. Only active elements count: a
commented-out <AdminUser> is a comment, never read."""
from __future__ import annotations

from dataclasses import dataclass, field

from .securevault import vault_alias
from .xmldoc import XmlDoc

CONFIGURATION = "Realm/Configuration"
ADMIN_USER = f"{CONFIGURATION}/AdminUser"
ADMIN_NAME = f"{ADMIN_USER}/UserName"
ADMIN_PASSWORD = f"{ADMIN_USER}/Password"
DATA_SOURCE = "dataSource"
#: the admin Carbon creates when the file names none
DEFAULT_ADMIN = "admin"


def configuration(doc: XmlDoc):
    """The realm's <Configuration>, or None."""
    return doc.find(CONFIGURATION)


@dataclass(frozen=True)
class UserMgt:
    """What the realm's configuration holds (None: the file does not say). `admin_password` is the
    text as written: a password, or Secure Vault's placeholder when `admin_password_alias` is set."""

    admin_name: str | None = None
    admin_password: str | None = field(default=None, repr=False)
    admin_password_alias: str | None = None
    data_source: str | None = None  # Property[@name='dataSource']: the user store's JNDI name

    @property
    def admin(self) -> str:
        """The admin user's name, Carbon's default `admin` when the file names none."""
        return self.admin_name or DEFAULT_ADMIN


def read(doc: XmlDoc) -> UserMgt:
    """The realm's admin user and dataSource, from active elements only."""
    pw = doc.find(ADMIN_PASSWORD)
    return UserMgt(doc.find_text(ADMIN_NAME), None if pw is None else (pw.text or "").strip(),
                   None if pw is None else vault_alias(pw),
                   doc.find_text(f"{CONFIGURATION}/Property[@name='{DATA_SOURCE}']"))
