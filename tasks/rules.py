"""The product's rules in one place: which value each role gets, and where the files are.

Planners (what patch writes) and consistency checks (what verify compares across nodes) both ask
here, so that a rule is written once: AutoCommit true and readOnly false on the manager only, the
subDomain `mgt` for the manager and `worker` for the others, each node's WKA members the other
role's nodes, the local registry database per role, the management hostname on the manager only.
The steps, the probes and the commands share the rest from here too: the JDBC URL and the registry's
cacheId, the database host, the jars' folders, nginx's files and command, a node's state folder (the
kept keystore, the drain marker), the shipped key and the shipped dbscripts.
"""
from __future__ import annotations

import posixpath
import re
import shlex
from typing import TYPE_CHECKING

from .config import Host, Inventory
from .formats.jdbcurl import mysql_url

if TYPE_CHECKING:
    from .formats import jks

#: the product files the steps edit, relative to the product home
AXIS2 = "repository/conf/axis2/axis2.xml"
CARBON = "repository/conf/carbon.xml"
CATALINA = "repository/conf/tomcat/catalina-server.xml"
MASTER = "repository/conf/datasources/master-datasources.xml"
USER_MGT = "repository/conf/user-mgt.xml"
REGISTRY = "repository/conf/registry.xml"

#: Carbon's ports before the offset: the console (HTTPS, HTTP) and PassThrough (HTTP, HTTPS)
MGT_HTTPS_PORT, MGT_HTTP_PORT, PT_HTTP_PORT, PT_HTTPS_PORT = 9443, 9763, 8280, 8243


def is_manager(host_or_role) -> bool:
    role = host_or_role if isinstance(host_or_role, str) else host_or_role.role
    return role == "manager"


def auto_commit(role: str) -> str:
    """DepSync AutoCommit: only the manager commits artifacts to the SVN repository."""
    return "true" if is_manager(role) else "false"


def read_only(role: str) -> str:
    """The shared registry's remoteInstance readOnly: only the manager writes to it."""
    return "false" if is_manager(role) else "true"


def sub_domain(role: str) -> str:
    """The Hazelcast subDomain of a node: `mgt` on the manager, `worker` elsewhere."""
    return "mgt" if is_manager(role) else "worker"


def wka_peers(inv: Inventory, host: Host) -> list[Host]:
    """A node's WKA members: the other role's ESB nodes (the manager lists the workers, a worker the manager)."""
    return inv.by_role("worker" if is_manager(host) else "manager")


def local_registry_db(inv: Inventory, host: Host) -> str:
    """The node's local registry database: REGISTRY_LOCAL1 on the manager, REGISTRY_LOCAL2 on workers."""
    return inv.database.local_db_manager if is_manager(host) else inv.database.local_db_worker


def has_mgt_hostname(host: Host) -> bool:
    """carbon.xml MgtHostName is the manager's only."""
    return is_manager(host)


# ---------------------------------------------------------------- the database (create-dbs, the datasources)

def jdbc_url(inv: Inventory, database: str) -> str:
    """jdbc:mysql://<alias>:<port>/<database>?<jdbc_params> (no '?' when there are no parameters)."""
    d = inv.database
    return mysql_url(d.alias, d.port, database, d.jdbc_params)


def cache_id(inv: Inventory) -> str:
    """The shared registry's cacheId: <database user>@<REGISTRY_DB JDBC URL>, the same on every node."""
    return f"{inv.database.user}@{jdbc_url(inv, inv.database.registry_db)}"


def db_hosts(inv: Inventory) -> list[Host]:
    """The `db` group, else the host that [database].host names."""
    return inv.by_role("db") or [h for h in inv.hosts.values() if h.name == inv.database.host]


# ---------------------------------------------------------------- the jars (install-jdbc-driver, install-svnkit)

LIB = "repository/components/lib"
DROPINS = "repository/components/dropins"
_VERSION_RE = re.compile(r"^(.+?)-(v?\d|build\d)", re.I)


def jar_family(filename: str) -> str:
    """The artifact name of a jar file name, without version: 'mysql-connector-java-5.1.49-bin.jar'
    -> 'mysql-connector-java'; 'trilead-ssh2-1.0.0-build215.jar' -> 'trilead-ssh2'."""
    stem = filename[:-4] if filename.lower().endswith(".jar") else filename
    m = _VERSION_RE.match(stem)
    return (m.group(1) if m else stem).lower()


# ---------------------------------------------------------------- the load balancer (configure-lb, drain)

#: the files configure-lb writes into [lb].conf_dir
NGINX_FILES = ("esb.http.conf", "esb.https.conf", "mgt.esb.https.conf")


def nginx_command(inv: Inventory, *args: str) -> str:
    """`nginx -c <nginx_conf> ARGS` (paths validated in config, quoted here)."""
    return " ".join([shlex.quote(inv.lb.nginx), "-c", shlex.quote(inv.lb.nginx_conf), *args])


# ---------------------------------------------------------------- a node's own state on its machine

#: the node's own keystore as rollback --all found it, in the node's state folder (kept_path)
KEPT_KEYSTORE = "keystore-kept.jks"


def node_state_dir(host: Host) -> str:
    """The node's own state folder on its machine (CONTRACT §5: several nodes may share one login)."""
    return f"{host.state_dir}/nodes/{host.name}"


def kept_path(host: Host) -> str:
    """Where rollback --all keeps the node's own keystore it replaces with the shipped one."""
    return posixpath.join(node_state_dir(host), KEPT_KEYSTORE)


def drain_marker(lb: Host, worker: str) -> str:
    """Where `fab drain` records, on an lb host, that a worker is out of the balancer on purpose."""
    return posixpath.join(node_state_dir(lb), "drained", worker)


# ---------------------------------------------------------------- hardening (CONTRACT §8)

KEYSTORE = "repository/resources/security/wso2carbon.jks"
TRUSTSTORE = "repository/resources/security/client-truststore.jks"
CARBON_LOG = "repository/logs/wso2carbon.log"
CIPHER_TEXT = "repository/conf/security/cipher-text.properties"
CIPHER_TOOL = "repository/conf/security/cipher-tool.properties"
SECRET_CONF = "repository/conf/security/secret-conf.properties"
KEY_ALIAS = "wso2carbon"
#: the password the shipped keystore and trust store open with
SHIPPED_STORE_PASSWORD = "wso2carbon"
#: the product's own start script (CONTRACT §10): what starts a node
START_SCRIPT = "bin/wso2server.sh"
#: where Carbon's JVM writes its pid (org.wso2.carbon.server.Main), in the product home
PID_FILE = "wso2carbon.pid"
#: with Secure Vault on, the keystore password's way to Carbon at its start (Carbon deletes it)
PASSWORD_TMP = "password-tmp"

#: the passwords WSO2 ships in its configuration files, the same in every download
#: (public words, not secrets: masking them would mask `set-admin-password` and the
#: shipped user `wso2carbon` in every line)
SHIPPED_PASSWORDS = frozenset({"wso2carbon", "admin", "password"})
#: SHA-256 of the certificate of the private key every 4.9.0 and 5.0.0
#: download ships (CN=localhost, 1024 bits)
SHIPPED_KEY_FINGERPRINTS = frozenset({"1d729fb8c468ead820a2a0be4adb8fbabed9ab1ba126c9d21466c5706e8e4d30"})


def is_shipped(ks: jks.Keystore) -> bool:
    """The keystore still holds a download's key: the shipped certificate, or CN=localhost
    opening with the shipped password."""
    from cryptography.x509.oid import NameOID  # here: a command that opens no keystore loads no cryptography
    from .formats.jks import fingerprint
    entry = ks.keys.get(KEY_ALIAS)
    if entry is None:
        return False
    if fingerprint(entry.chain[0]) in SHIPPED_KEY_FINGERPRINTS:
        return True
    cn = [a.value for a in entry.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    return cn == ["localhost"] and ks.opens_with(SHIPPED_STORE_PASSWORD)

#: the product's dbscripts known by their SHA-256 (of the file's bytes as shipped): path in the
#: product home and where it comes from. create-dbs runs one of these as the database admin
#: as it is; any other script only if every statement is schema (formats/sqlcheck.py).
#: tests/unit/test_rules.py recomputes each from ../shared/fixtures (and sample/).
SHIPPED_DBSCRIPTS: dict[str, tuple[str, str]] = {
    "5a7693cdad8253f770638fba418326ed4d30e9e629d64f3c1472df5a6a6a0956": ("dbscripts/mysql.sql", "shipped 4.9.0"),
    "60641464cccb888512613f5ce0c89251a7b0dab04bf8b7f32886d3decaa6624f": ("dbscripts/mysql.sql", "shipped 5.0.0"),
    "a0643ebe2934b5859a4e8f37ec57574f5be1be31be60d3247f1f02dff8d108d0":
        ("dbscripts/identity/mysql.sql", "shipped 5.0.0"),
    # sample/wso2esb-4.9.0: this project's reduced copy of the 4.9.0 script (a few of its tables)
    "c4ffabf1e639089a5bd8d5cf6cc15370d7154323323a9e69fdb2d1c8f1634d5a":
        ("dbscripts/mysql.sql", "sample 4.9.0 (this project's reduced copy)"),
}


def shipped_as(sha256: str, rel: str) -> str | None:
    """Where a script comes from ("shipped 4.9.0") when its digest is a known script's for this
    path in the product home, else None."""
    known = SHIPPED_DBSCRIPTS.get(sha256)
    return known[1] if known and known[0] == rel else None


def keystore_cn(inv: Inventory, host: Host) -> str:
    """The CN of a node's own key: the management hostname on the manager, the cluster hostname on workers."""
    return inv.cluster.mgt_hostname if is_manager(host) else inv.cluster.hostname


class Protected:
    """One password Secure Vault protects: its alias (as Carbon resolves it), the file,
    the element's path from the root, the attribute holding it (None: the element's
    text) and the secret it must be."""

    def __init__(self, alias: str, file: str, path: str, secret: str, attr: str | None = None,
                 tool_path: str | None = None, optional: bool = False):
        self.alias, self.file, self.path, self.secret, self.attr = alias, file, path, secret, attr
        self.optional = optional  # the element exists once another step wrote it (a datasource)
        self.tool_path = tool_path or path  # the XPath WSO2's cipher-tool.properties writes for it

    def tool_line(self, root: str) -> str:
        """cipher-tool.properties' value: file//xpath,<attribute?> (WSO2's cipher tool format)."""
        return f"{self.file}//{root}/{self.tool_path},{'true' if self.attr else 'false'}"


def _axis2(direction: str, kind: str, store: str, field: str) -> Protected:
    el = "transportReceiver" if direction == "Listener" else "transportSender"
    path = f"{el}[@name='https']/parameter[@name='{kind}']/{store}/{field}"
    return Protected(f"Axis2.Https.{direction}.{store}.{field}", AXIS2, path, "KEYSTORE_PASSWORD")


#: the keystore and trust store passwords the shipped files name
#: (create-keystore sets them; CONTRACT §8)
KEYSTORE_PASSWORDS = (
    Protected("Carbon.Security.KeyStore.Password", CARBON, "Security/KeyStore/Password", "KEYSTORE_PASSWORD"),
    Protected("Carbon.Security.KeyStore.KeyPassword", CARBON, "Security/KeyStore/KeyPassword", "KEYSTORE_PASSWORD"),
    Protected("Carbon.Security.TrustStore.Password", CARBON, "Security/TrustStore/Password", "KEYSTORE_PASSWORD"),
    Protected("Server.Service.Connector.keystorePass", CATALINA, "Service/Connector[@keystorePass]",
              "KEYSTORE_PASSWORD", attr="keystorePass"),
    *(_axis2(d, "keystore", "KeyStore", f) for d in ("Listener", "Sender") for f in ("Password", "KeyPassword")),
    *(_axis2(d, "truststore", "TrustStore", "Password") for d in ("Listener", "Sender")),
)
ADMIN_PASSWORD = Protected("UserManager.AdminUser.Password", USER_MGT, "Realm/Configuration/AdminUser/Password",
                           "ADMIN_PASSWORD")
SVN_PASSWORD = Protected("Carbon.DeploymentSynchronizer.SvnPassword", CARBON, "DeploymentSynchronizer/SvnPassword",
                         "SVN_PASSWORD")


def datasource_passwords(inv: Inventory, host: Host) -> list[Protected]:
    """The passwords of the datasources configure-datasources writes on this node."""
    d = inv.database
    return [Protected(f"Datasources.{name}.Configuration.Password", MASTER,
                      f"datasources/datasource[name='{name}']/definition/configuration/password", "WSO2_DB_PASSWORD",
                      optional=True,
                      tool_path=f"datasources/datasource[name='{name}']/definition[@type='RDBMS']/configuration/password")
            for name in (local_registry_db(inv, host), d.registry_db, d.user_db)]


def vault_entries(inv: Inventory, host: Host) -> list[Protected]:
    """Every password secure-vault moves into Secure Vault on this node, grouped by file."""
    return [*KEYSTORE_PASSWORDS, SVN_PASSWORD, ADMIN_PASSWORD, *datasource_passwords(inv, host)]


def java_version(output: str) -> str | None:
    """The version `java -version` reports ('1.8.0_392', '17.0.15'), else None."""
    m = re.search(r'version "([^"]+)"', output or "")
    return m.group(1) if m else None


def java_ok(version: str) -> bool:
    """Carbon 4.4's start script accepts JDK 1.7 and 1.8 only."""
    return version.startswith(("1.7", "1.8"))
