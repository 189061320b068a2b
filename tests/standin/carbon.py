"""A stand-in Carbon 4.4 server, for the lifecycle tests and the demo: Carbon itself needs a JDK 7 or 8, which
this machine lacks (Debian 12 has 17; Java 9+ refuses the start script's -Djava.endorsed.dirs). The stand-in JDK's
`java` (tests/standin/jdk.py) answers `-version` as 1.8 and otherwise execs this file with the JVM's arguments, so
the product's real bin/wso2server.sh runs it unchanged. On every point the project relies on it behaves as
Carbon does (org.wso2.carbon.server.Main, HazelcastGroupManagementAgent, StartupFinalizerServiceComponent):

- writes its own pid to <carbon.home>/wso2carbon.pid (Main.writePID) and logs to repository/logs/wso2carbon.log;
- with Secure Vault on (secret-conf.properties), reads <carbon.home>/password-tmp and deletes it; the keystore
  must open with it (checked with the project's own JKS reader), else it logs an error and exits;
- reads Ports/Offset of carbon.xml and listens after it: 9443 and 8243 (TLS), 9763 and 8280 (HTTP), each
  answering with the node's member address and the port; a POST is answered after 0.2 s (a request in flight);
- reads axis2.xml's clustering section (localMemberHost, localMemberPort, the WKA members), listens on the member
  port and forms membership over real TCP with the members and with those they know (as Hazelcast does from
  its WKA members), logging Carbon's own `Member joined [uuid]: /ip:port` and `Member left [uuid]: /ip:port`;
- honours -DworkerNode (the last -D of a name wins, as in the JVM) and logs it;
- opens its MySQL datasources (master-datasources.xml, `jdbc:mysql://` URLs) with the user and password it read
  at its start (a `svns:secretAlias` resolved from cipher-text.properties with the node's key, as Carbon does),
  from its member address, and goes on opening a new connection every 0.5 s as a pool does: a refused one is
  logged as Carbon's pool logs it (`Cannot get a connection ... Access denied`), the login that works again
  too. The JVM resolves the URL's host through /etc/hosts, which a lab cannot write: `hosts` in standin.json
  maps those names;
- runs DepSync (with the real svn client) and the CApp deployer as Carbon does: tests/standin/depsync.py;
- logs `Starting WSO2 Carbon...` at once and `WSO2 Carbon started in N sec` after a delay;
- on TERM keeps serving for a while (shutting down), then exits 0: a request in flight at that moment is lost.

Per-node behaviour for tests, by a file in <carbon.home>: `standin-refuse-start` (exits at once, status 1),
`standin-no-start-line` (runs, never logs the start line). Delays: JAVA_HOME/standin.json.
"""
from __future__ import annotations

import http.server
import json
import os
import re
import signal
import socket
import ssl
import sys
import threading
import time
import uuid
from pathlib import Path

ARGS = sys.argv[1:]
PROPS: dict[str, str] = {}
for a in ARGS:
    if a.startswith("-D") and "=" in a:
        k, v = a[2:].split("=", 1)
        PROPS[k] = v  # the last wins, as in the JVM
HOME = Path(PROPS.get("carbon.home", os.getcwd()))
JDK = Path(os.environ.get("JAVA_HOME", Path(__file__).parent))
CONF = json.loads((JDK / "standin.json").read_text()) if (JDK / "standin.json").exists() else {}
START_DELAY = float(CONF.get("start_delay", 1.0))
STOP_DELAY = float(CONF.get("stop_delay", 0.5))
LOG_PATH = HOME / "repository" / "logs" / "wso2carbon.log"
_log_lock = threading.Lock()


#: signals received, appended by the handlers and acted on by the main thread's wait_for_term: a handler takes no
#: lock (one that set a threading.Event, or wrote the log, could interrupt the main thread while it held that very
#: lock and hang the process for good: a TERM once went unanswered for 10 s that way)
SIGNALS: list[str] = []


def wait_for_term(seconds: float | None = None) -> bool:
    """Until a TERM came (True) or `seconds` passed (False); a HUP under nohup is noted in the log and ignored."""
    end = None if seconds is None else time.monotonic() + seconds
    noted = 0
    while "TERM" not in SIGNALS:
        while noted < len(SIGNALS):
            noted += 1
            log("WARN", "stand-in", "SIGHUP received and ignored (nohup)")
        if end is not None and time.monotonic() >= end:
            return False
        time.sleep(0.02)
    return True


def log(level: str, cls: str, msg: str) -> None:
    now = time.time()
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now)) + f",{int(now % 1 * 1000):03d}"
    with _log_lock, open(LOG_PATH, "a") as f:
        f.write(f"TID: [-1234] [] [{stamp}] {level:>5} {{{cls}}} -  {msg} {{{cls}}}\n")


def text_of(path: Path, tag: str) -> str | None:
    m = re.search(rf"<{tag}>\s*([^<]*?)\s*</{tag}>", path.read_text(encoding="latin-1"))
    return m.group(1) if m else None


def clustering() -> tuple[str, int, list[tuple[str, int]]]:
    text = (HOME / "repository/conf/axis2/axis2.xml").read_text(encoding="utf-8", errors="replace")
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    cl = re.search(r"<clustering\b.*?</clustering>", text, re.S).group(0)
    param = lambda name: re.search(rf'<parameter name="{name}">\s*([^<]*?)\s*</parameter>', cl).group(1)
    members = [(h, int(p)) for h, p in re.findall(r"<member>\s*<hostName>([^<]+)</hostName>\s*<port>(\d+)</port>",
                                                  cl)]
    return param("localMemberHost"), int(param("localMemberPort")), members


def check_vault() -> None:
    """Carbon 4.4 resolves its Secure Vault values at start with the keystore password from password-tmp (then
    deletes it); without it, it would ask on a console that nohup does not have."""
    conf = HOME / "repository/conf/security/secret-conf.properties"
    if not conf.exists() or not re.search(r"(?m)^\s*secretRepositories\s*=\s*file\s*$",
                                          conf.read_text(errors="replace")):
        return
    tmp = HOME / "password-tmp"
    if not tmp.exists():
        log("ERROR", "org.wso2.securevault.SecretManager", "Secure Vault: no password-tmp and no console; exiting")
        sys.exit(1)
    password = tmp.read_text(encoding="utf-8").strip()
    VAULT["password"] = password
    tmp.unlink()
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tasks.formats import jks
    store = jks.parse((HOME / "repository/resources/security/wso2carbon.jks").read_bytes())
    if not store.opens_with(password):
        log("ERROR", "org.wso2.securevault.SecretManager", "Secure Vault: the keystore password is wrong; exiting")
        sys.exit(1)
    log("INFO", "org.wso2.securevault.SecretManager", "Secure Vault: keystore password read from password-tmp")


VAULT: dict[str, str] = {}  # the keystore password Carbon was given at its start (Secure Vault on)
POOL = "org.apache.tomcat.jdbc.pool.ConnectionPool"


def vault_value(alias: str) -> str | None:
    """What Carbon resolves a svns:secretAlias to: cipher-text.properties decrypted with the node's key."""
    import base64
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tasks.formats import jks, props
    text = (HOME / "repository/conf/security/cipher-text.properties").read_text(errors="replace")
    raw = props.value(text, alias)
    if raw is None or "password" not in VAULT:
        return None
    store = jks.parse((HOME / "repository/resources/security/wso2carbon.jks").read_bytes())
    key = jks.private_key(store.keys["wso2carbon"], VAULT["password"])
    return jks.decrypt(key, base64.b64decode(raw))


def mysql_datasources() -> list[dict]:
    """The jdbc:mysql datasources of master-datasources.xml (read as an XML parser reads it: entities and character
    references resolved): name, host, port, database, user, password."""
    import xml.etree.ElementTree as ET
    f = HOME / "repository/conf/datasources/master-datasources.xml"
    if not f.exists():
        return []
    out = []
    for ds in ET.parse(f).getroot().iter("datasource"):
        conf = ds.find("definition/configuration")
        url = re.match(r"jdbc:mysql://([^:/]+)(?::(\d+))?/([^?]+)", (conf.findtext("url") or "").strip()) \
            if conf is not None else None
        if not url:
            continue
        pw = conf.find("password")
        alias = next((v for k, v in (pw.attrib.items() if pw is not None else ()) if k.endswith("secretAlias")),
                     None)
        password = vault_value(alias) if alias else (pw.text or "" if pw is not None else "")
        out.append({"name": (ds.findtext("name") or "").strip(), "host": url.group(1),
                    "port": int(url.group(2) or 3306), "db": url.group(3),
                    "user": (conf.findtext("username") or "").strip(), "password": password})
    return out


def is_ip(text: str) -> bool:
    import ipaddress
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


class Pools:
    """Carbon's datasource pools, as far as a password matters: a new connection every 0.5 s per datasource,
    made with what the server read at its start; failures and recoveries logged."""

    def __init__(self, source: str):
        self.source = source
        self.sources = mysql_datasources()
        names = CONF.get("hosts", {})
        for d in self.sources:
            d["address"] = names.get(d["host"]) or (d["host"] if is_ip(d["host"]) else None)
            if d["address"] is None:  # never a DNS query: the lab reaches nothing beyond loopback
                log("ERROR", POOL, f"datasource {d['name']}: {d['host']} is not in the stand-in's hosts map; "
                                   f"not opened")
        self.sources = [d for d in self.sources if d["address"]]
        if self.sources:
            threading.Thread(target=self.run, daemon=True).start()

    def connect(self, d: dict) -> str | None:
        import pymysql
        if d["password"] is None:
            return "its Secure Vault value could not be resolved"
        try:
            pymysql.connect(host=d["address"], port=d["port"], user=d["user"], password=d["password"].encode(),
                            database=d["db"], bind_address=self.source if CONF.get("from_member_host", True) else None,
                            connect_timeout=3,
                            charset="utf8mb4").close()  # Connector/J 5.1 sends a password as UTF-8 (bytes:
            # pymysql would send a str as Latin-1)
            return None
        except pymysql.MySQLError as e:
            return str(e.args[-1] if e.args else e)

    def run(self):
        failing: dict[str, bool] = {}
        while True:
            for d in self.sources:
                error = self.connect(d)
                if error:
                    log("ERROR", POOL, f"Cannot get a connection for datasource {d['name']}: {error}")
                elif failing.get(d["name"]) is not False:
                    log("INFO", POOL, f"datasource {d['name']}: connected to {d['host']}:{d['port']}/{d['db']} "
                                      f"as {d['user']}")
                failing[d["name"]] = bool(error)
            time.sleep(0.5)


class Membership:
    """Hazelcast's part, over plain TCP: a handshake of uuid and advertised address, the members each side
    knows exchanged, a member left when its connection ends."""

    def __init__(self, host: str, port: int, wka: list[tuple[str, int]]):
        self.me = (host, port)
        self.uuid = str(uuid.uuid4())
        self.known = {m for m in wka if m != self.me}
        self.links: dict[str, int] = {}  # peer uuid -> open connections
        self.addr: dict[str, tuple[str, int]] = {}
        self.lock = threading.Lock()
        self.srv = socket.create_server((host, port), reuse_port=False)
        threading.Thread(target=self.accept, daemon=True).start()
        threading.Thread(target=self.dial, daemon=True).start()

    def hello(self) -> bytes:
        with self.lock:
            known = ";".join(f"{h}:{p}" for h, p in sorted(self.known | {a for a in self.addr.values()}))
        return f"HELLO {self.uuid} {self.me[0]} {self.me[1]} {known}\n".encode()

    def accept(self):
        while True:
            conn, _ = self.srv.accept()
            threading.Thread(target=self.talk, args=(conn,), daemon=True).start()

    def dial(self):
        while True:
            with self.lock:
                targets = [m for m in self.known if m != self.me and m not in self.addr.values()]
            for m in targets:
                try:
                    conn = socket.create_connection(m, timeout=0.5)
                except OSError:
                    continue
                threading.Thread(target=self.talk, args=(conn,), daemon=True).start()
            time.sleep(0.3)

    def talk(self, conn: socket.socket):
        conn.settimeout(5)
        try:
            conn.sendall(self.hello())
            line = conn.makefile("rb").readline().decode().split()
            if len(line) < 4 or line[0] != "HELLO" or line[1] == self.uuid:
                conn.close()
                return
            peer, addr = line[1], (line[2], int(line[3]))
            told = line[4].split(";") if len(line) > 4 and line[4] else []
            learnt = {(h, int(p)) for h, p in (x.rsplit(":", 1) for x in told)}
        except (OSError, ValueError):
            conn.close()
            return
        with self.lock:
            self.known |= {m for m in learnt if m != self.me}
            first = self.links.get(peer, 0) == 0
            self.links[peer] = self.links.get(peer, 0) + 1
            self.addr[peer] = addr
        if first:
            log("INFO", "org.wso2.carbon.core.clustering.hazelcast.HazelcastGroupManagementAgent",
                f"Member joined [{peer}]: /{addr[0]}:{addr[1]}")
        conn.settimeout(None)
        try:
            while conn.recv(1024):
                pass
        except OSError:
            pass
        with self.lock:
            self.links[peer] -= 1
            last = self.links[peer] == 0
            if last:
                self.addr.pop(peer, None)
        if last:
            log("INFO", "org.wso2.carbon.core.clustering.hazelcast.HazelcastGroupManagementAgent",
                f"Member left [{peer}]: /{addr[0]}:{addr[1]}")


def serve(host: str, port: int, tls: bool, name: str) -> None:
    class Answer(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def _answer(self):
            body = f"{name} {port}\n".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):  # noqa: N802
            self._answer()

        def do_POST(self):  # noqa: N802
            n = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(n)
            time.sleep(0.2)  # a request in flight
            self._answer()

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer((host, port), Answer)
    srv.daemon_threads = True
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(JDK / "standin-tls.crt", JDK / "standin-tls.key")
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()


def main() -> None:
    t0 = time.time()
    LOG_PATH.parent.mkdir(parents=True, exist_ok=True)
    (HOME / "wso2carbon.pid").write_text(str(os.getpid()))  # Main.writePID, before anything else
    worker = PROPS.get("workerNode", "false")
    log("INFO", "org.wso2.carbon.core.internal.CarbonCoreActivator",
        f"Starting WSO2 Carbon... (a stand-in; workerNode={worker})")
    if (HOME / "standin-refuse-start").exists():
        log("ERROR", "org.wso2.carbon.core.internal.CarbonCoreActivator", "stand-in told to refuse to start")
        sys.exit(1)
    signal.signal(signal.SIGTERM, lambda *a: SIGNALS.append("TERM"))
    check_vault()
    offset = int(text_of(HOME / "repository/conf/carbon.xml", "Offset") or 0)
    host, mport, wka = clustering()
    name = f"{host}:{mport}"
    try:
        for port, tls in ((9763, False), (9443, True), (8280, False), (8243, True)):
            serve(host, port + offset, tls, name)
        Membership(host, mport, wka)
        Pools(host)
        sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
        from tests.standin import depsync
        depsync.start(HOME, worker == "true", log, vault_value, float(CONF.get("depsync_period", 1.0)))
    except OSError as e:
        log("ERROR", "org.wso2.carbon.core.internal.CarbonCoreActivator", f"cannot listen: {e}")
        sys.exit(1)
    if not wait_for_term(START_DELAY) and not (HOME / "standin-no-start-line").exists():
        log("INFO", "org.wso2.carbon.core.internal.StartupFinalizerServiceComponent",
            f"WSO2 Carbon started in {int(time.time() - t0)} sec")
    wait_for_term()
    log("INFO", "org.wso2.carbon.core.ServerManagement", "Shutdown hook triggered....")
    time.sleep(STOP_DELAY)  # shutting down: still serving
    log("INFO", "org.wso2.carbon.core.ServerManagement", "Shutting down WSO2 Carbon...")
    os._exit(0)


def run() -> None:
    """main(), with whatever ends it early logged (a test that sees a node gone can then say why)."""
    import faulthandler
    LOG_PATH.parent.mkdir(parents=True, exist_ok=True)
    faults = open(LOG_PATH.parent / "standin-faults.log", "a")  # noqa: SIM115 (open for the process's life)
    faulthandler.enable(faults)
    if signal.getsignal(signal.SIGHUP) == signal.SIG_IGN:  # under nohup, as the start script runs it: noted
        signal.signal(signal.SIGHUP, lambda *a: SIGNALS.append("HUP"))
    threading.excepthook = lambda a: log("ERROR", "stand-in", f"a stand-in thread crashed: {a.exc_type.__name__}: "
                                                             f"{a.exc_value}")
    try:
        main()
    except SystemExit:
        raise
    except BaseException as e:  # noqa: BLE001 (a stand-in's own crash, logged for the test that sees it)
        log("ERROR", "stand-in", f"the stand-in crashed: {type(e).__name__}: {e}")
        raise


if __name__ == "__main__":
    run()
