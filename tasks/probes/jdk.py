"""The JDK a node's server starts with, judged the one way `start` and `verify --live` share: the
`java -version` of `$JAVA_HOME/bin/java` with JAVA_HOME set, as bin/wso2server.sh runs it (never the
JDK's `release` file, which a JDK may not ship or may not match its binary). Without java_home, `java`
on the login PATH (what `verify --live` checks where the host names none)."""
from __future__ import annotations

import posixpath
import shlex
from dataclasses import dataclass

from ..remote.protocol import NodeReads
from ..rules import java_ok, java_version

#: what Carbon 4.4's start script accepts
WANTED = "JDK 1.7 or 1.8"


@dataclass
class JavaVerdict:
    """Where the java is (`<home>/bin/java` or `java` on the PATH), the version it reported (None: none),
    and the problem (None: Carbon 4.4 starts with it)."""

    java: str
    version: str | None
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def judge_java(remote: NodeReads, java_home: str | None) -> JavaVerdict:
    """`java -version` as the start script runs it: JAVA_HOME set, its bin/java (one command; a read of
    nothing else)."""
    q = shlex.quote
    if java_home:
        java = posixpath.join(java_home, "bin", "java")
        st = remote.stat(java)
        if st is None or not st.is_file or not st.mode & 0o111:
            return JavaVerdict(java, None, f"{java} is missing (java_home = {java_home})")
        command = f"env JAVA_HOME={q(java_home)} {q(java)} -version"
    else:
        java, command = "java", "java -version"
    code, out, err = remote.run(command, check=False)
    said = (err or "") + (out or "")
    version = java_version(said)
    if code != 0 or version is None:
        last = said.strip().splitlines()[-1][:200] if said.strip() else ""
        return JavaVerdict(java, version, f"{java} -version failed (exit {code})" + (f": {last}" if last else ""))
    if not java_ok(version):
        return JavaVerdict(java, version, f"{java} is Java {version}; Carbon 4.4's start script needs 1.7 or 1.8")
    return JavaVerdict(java, version, None)
