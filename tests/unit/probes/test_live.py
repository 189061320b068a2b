"""What `fab verify --live` (tasks/probes/live.py) takes of the rules: the java version it accepts."""
from __future__ import annotations

import pytest

from tasks.rules import java_ok, java_version


@pytest.mark.parametrize("out,version,ok", [
    ('java version "1.8.0_392"\nJava(TM) SE Runtime Environment', "1.8.0_392", True),
    ('openjdk version "1.7.0_261"', "1.7.0_261", True),
    ('openjdk version "17.0.15" 2025-04-15', "17.0.15", False),
    ('openjdk version "11.0.2"', "11.0.2", False),
])
def test_java_versions(out, version, ok):
    assert java_version(out) == version and java_ok(version) is ok
    assert java_version("bash: java: command not found") is None
