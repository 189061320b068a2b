"""tasks/probes/jdk.py: the JDK judged by `java -version` of $JAVA_HOME/bin/java, with JAVA_HOME set, as the start
script runs it (one function for `start` and `verify --live`); never by the `release` file."""
from __future__ import annotations

from tasks.probes.jdk import judge_java
from tasks.remote import FileStat


class FakeNode:
    def __init__(self, said: str, code: int = 0, java: bool = True, release: bytes = b'JAVA_VERSION="1.8.0_1"\n'):
        self.said, self.code, self.java, self.release = said, code, java, release
        self.commands: list[str] = []

    def stat(self, path, follow=True):
        return FileStat(0o100755, 0, 0, 10, 0) if self.java and path.endswith("/bin/java") else None

    def read(self, *a, **kw):  # a `release` file is there, and never read
        raise AssertionError("the release file must not decide")

    def run(self, command, check=True):
        self.commands.append(command)
        return self.code, "", self.said


def test_java_version_decides_whatever_the_release_file_says():
    node = FakeNode('openjdk version "17.0.15" 2025-04-15\n')
    v = judge_java(node, "/opt/jdk")
    assert v.version == "17.0.15" and v.problem == "/opt/jdk/bin/java is Java 17.0.15; Carbon 4.4's start script " \
        "needs 1.7 or 1.8"
    assert node.commands == ["env JAVA_HOME=/opt/jdk /opt/jdk/bin/java -version"]  # as the script runs it


def test_a_1_8_java_is_ok_and_a_missing_or_failing_one_is_named():
    assert judge_java(FakeNode('java version "1.8.0_392"\n'), "/opt/jdk").ok
    assert judge_java(FakeNode("", java=False), "/opt/jdk").problem == "/opt/jdk/bin/java is missing (java_home = " \
        "/opt/jdk)"
    v = judge_java(FakeNode("Error: could not open `lib/jvm.cfg'\n", code=1), "/opt/jdk")
    assert v.problem == "/opt/jdk/bin/java -version failed (exit 1): Error: could not open `lib/jvm.cfg'"


def test_without_java_home_the_login_paths_java():
    node = FakeNode('java version "1.7.0_80"\n')
    assert judge_java(node, None).ok and node.commands == ["java -version"]
