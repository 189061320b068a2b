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


def test_the_live_row_as_data_gives_each_checks_outcome():
    from tasks.engine.plan import Item
    from tasks.probes.live import CHECKS, live_fields
    items = [Item("live db", "WSO2_CARBON_DB login", "accepted", "Access denied"),
             Item("live db", "REGISTRY_DB tables", "present", "missing")]
    warnings = [Item("live members", "10.0.0.3:4200", "accepted", "refused (stopped)")]
    passed = ["java: 1.8.0_392", "driver: com.mysql.jdbc.Driver in mysql-connector.jar", "db: other"]
    f = live_fields(items, warnings, passed)
    assert set(f["checks"]) == set(CHECKS) and f["passed"] == 3 and f["drift"] == ["db"]
    assert f["checks"]["db"] == "drift" and f["checks"]["members"] == "warning" and f["checks"]["java"] == "ok"
    assert f["checks"]["lb"] == "not-run"
