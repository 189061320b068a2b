"""A stand-in JDK 1.8 (Debian 12 has none): `bin/java -version` answers as Java 1.8 does, anything else execs the
stand-in Carbon (tests/standin/carbon.py) with the JVM's arguments, so the product's own bin/wso2server.sh runs
unchanged; `keytool` is this machine's own (create-keystore makes real keys); a TLS pair for the stand-in's
9443/8243 listeners; `standin.json` its delays."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

CARBON = Path(__file__).resolve().parent / "carbon.py"


def make_jdk(d: Path, version: str = "1.8.0_392", start_delay: float = 1.0, stop_delay: float = 0.5,
             hosts: dict[str, str] | None = None, from_member_host: bool = True, python: str = sys.executable) -> Path:
    """The stand-in JDK in d; `hosts` maps the names the nodes' /etc/hosts would (datasource URLs);
    `from_member_host`: database connections leave from the node's own address (as from a machine of its own),
    else from the address the system picks (loopback: 127.0.0.1); `python`: the interpreter the stand-in Carbon
    runs with (one a user other than root may run, for a product home owned by such a user)."""
    (d / "bin").mkdir(parents=True, exist_ok=True)
    java = d / "bin" / "java"
    java.write_text(f"""#!/bin/sh
# a stand-in JDK: see tests/standin/jdk.py
if [ "$1" = "-version" ]; then
  echo 'java version "{version}"' >&2
  echo 'Java(TM) SE Runtime Environment (a stand-in, build {version}-b01)' >&2
  exit 0
fi
exec {python} {CARBON} "$@"
""")
    os.chmod(java, 0o755)
    (d / "release").write_text(f'JAVA_VERSION="{version}"\n')
    keytool = shutil.which("keytool")
    if keytool and not (d / "bin" / "keytool").exists():
        os.symlink(keytool, d / "bin" / "keytool")
    if not (d / "standin-tls.crt").exists():
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                        "/CN=stand-in carbon", "-keyout", str(d / "standin-tls.key"), "-out",
                        str(d / "standin-tls.crt")], check=True, capture_output=True)
    (d / "standin.json").write_text(json.dumps({"start_delay": start_delay, "stop_delay": stop_delay,
                                                "hosts": hosts or {}, "from_member_host": from_member_host}))
    return d


def kill_servers(lab) -> None:
    """SIGKILL every stand-in server a lab's ESB nodes run (by their pid files): a test's cleanup."""
    import signal
    for h in lab.hosts.values():
        pid_file = h.home / "wso2carbon.pid"
        if h.member_port and pid_file.exists():
            try:
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
            except (ValueError, ProcessLookupError):
                pass
