"""Pure planner of map-hosts: one managed line per name, every other byte kept."""
from __future__ import annotations

import pytest

from tasks.engine.context import StepError
from tasks.steps.hostsfile import plan_hosts, wanted_entries
from tests.unit.helpers import base_data, inventory
from tasks.steps.hostsfile import MapHosts
from tests.memnode import MemoryNode
from tests.unit.helpers import patch_on, plan_on, whats

ALIAS = "carbondb.mysql-wso2.com"
DB = "192.168.1.20"
BASE = "127.0.0.1\tlocalhost\n# comment 10.0.0.1 carbondb.mysql-wso2.com\n::1\tlocalhost ip6-localhost\n"


def plan(text: str, wanted: dict | None = None):
    return plan_hosts(text, {ALIAS: DB} if wanted is None else wanted, "/etc/hosts")


def lines(items):
    return [i.line() for i in items]


def test_missing_line_is_appended_rest_untouched():
    new, items = plan(BASE)
    assert new == BASE + f"{DB}\t{ALIAS}\n"
    assert lines(items) == [f"/etc/hosts: {ALIAS}: wanted '{DB}', actual (absent)"]


def test_idempotent():
    new, _ = plan(BASE)
    again, items = plan(new)
    assert again == new and items == []


def test_stale_managed_line_corrected_in_place_keeping_layout_and_comment():
    text = f"127.0.0.1 localhost\n10.9.9.9   {ALIAS}   # db\n::1 ip6-localhost\n"
    new, items = plan(text)
    assert new == f"127.0.0.1 localhost\n{DB}   {ALIAS}   # db\n::1 ip6-localhost\n"
    assert lines(items) == [f"/etc/hosts: {ALIAS}: wanted '{DB}', actual '10.9.9.9'"]


def test_name_on_an_unrelated_line_loses_only_that_token():
    text = f"10.0.0.9\tbackup {ALIAS}  other  # keep me\n"
    new, items = plan(text)
    assert new == f"10.0.0.9\tbackup  other  # keep me\n{DB}\t{ALIAS}\n"
    assert lines(items) == [f"/etc/hosts: {ALIAS}: wanted '{DB}', actual (absent)",
                            f"/etc/hosts: {ALIAS} on line 1: wanted (absent), actual '10.0.0.9\\tbackup {ALIAS}  other  # keep me'"]


def test_shared_line_with_the_right_ip_is_accepted_as_is():
    text = f"{DB} db1 {ALIAS}\n"
    assert plan(text) == (text, [])


def test_managed_line_wins_over_shared_line_and_duplicates_go():
    text = f"{DB} db1 {ALIAS}\n10.0.0.1 {ALIAS}\n10.0.0.2 {ALIAS.upper()}\n127.0.0.1 localhost\n"
    new, items = plan(text)
    assert new == f"{DB} db1\n{DB} {ALIAS}\n127.0.0.1 localhost\n"
    assert [i.what for i in items] == [ALIAS, f"{ALIAS} on line 1", f"{ALIAS} on line 3"]
    assert plan(new) == (new, [])


def test_crlf_file_without_final_newline():
    text = "127.0.0.1 localhost\r\n::1 localhost"
    new, _ = plan(text)
    assert new == f"127.0.0.1 localhost\r\n::1 localhost\r\n{DB}\t{ALIAS}\r\n"


def test_ipv6_compared_as_addresses_and_several_names():
    text = f"0:0:0:0:0:0:0:1 {ALIAS}\n"
    assert plan(text, {ALIAS: "::1"}) == (text, [])
    new, _ = plan("", {ALIAS: "10.0.0.5", "esb.wso2.com": "10.0.0.10"})
    assert new == f"10.0.0.5\t{ALIAS}\n10.0.0.10\tesb.wso2.com\n"


def test_odd_bytes_and_comments_are_kept():
    text = f"# {ALIAS} 1.2.3.4\n\n   \n127.0.0.1 localhost\x0c\n{DB} {ALIAS}\n"
    assert plan(text) == (text, [])


def test_database_alias_maps_to_member_host_not_ssh_address():
    data = base_data()
    data["hosts"]["db1"]["member_host"] = "10.1.0.20"   # cluster network; address is how fab's SSH reaches it
    assert wanted_entries(inventory(data)) == {ALIAS: "10.1.0.20"}
    data["database"]["host"] = "10.2.0.20"
    assert wanted_entries(inventory(data)) == {ALIAS: "10.2.0.20"}


def test_hosts_map_entries_and_override_of_the_alias():
    data = base_data()
    data["hosts_map"] = {"esb.wso2.com": "192.168.1.10", "mgt.esb.wso2.com": "esb-mgr", ALIAS: "10.3.0.1"}
    assert wanted_entries(inventory(data)) == {"esb.wso2.com": "192.168.1.10", "mgt.esb.wso2.com": "192.168.1.12",
                                               ALIAS: "10.3.0.1"}


@pytest.mark.parametrize("host,message", [
    ("db.example.com", r"\[database\].host 'db.example.com' is a DNS name, and a hosts file needs an IP"),
    (None, r"\[database\].host is not set"),
])
def test_database_address_that_is_not_an_ip(host, message):
    data = base_data()
    if host is None:
        del data["database"]["host"]
    else:
        data["database"]["host"] = host
    with pytest.raises(StepError, match=message):
        wanted_entries(inventory(data))


def test_database_host_reached_by_a_dns_name_needs_a_member_host():
    data = base_data()
    data["hosts"]["db1"]["address"] = "db1.example.com"
    with pytest.raises(StepError, match=r"\[database\].host names db1, whose address 'db1.example.com' is a DNS "
                                        r"name, and a hosts file needs an IP: set \[hosts.db1\].member_host"):
        wanted_entries(inventory(data))
    data["hosts"]["db1"]["member_host"] = "10.3.0.20"
    assert wanted_entries(inventory(data)) == {ALIAS: "10.3.0.20"}


# ---------------------------------------------------------------- the step on a node in memory (tests/memnode.py)

def test_map_hosts_plans_the_alias_line_writes_through_a_linked_hosts_file_and_converges():
    inv = inventory()
    node = MemoryNode(inv.hosts["esb-w1"])
    node.add_file("/etc/hosts.real", BASE.encode(), 0o644, uid=0, gid=0)
    node.add_link("/etc/hosts", "hosts.real")
    plan, _ = plan_on(MapHosts(), node, inv)
    assert whats(plan) == [("/etc/hosts", ALIAS)] and plan.items[0].wanted == DB
    assert plan.files[0].in_place_fallback  # a bind-mounted /etc/hosts refuses the rename
    patch_on(MapHosts(), node, inv)
    assert node.links["/etc/hosts"] == "hosts.real"
    assert node.data("/etc/hosts.real") == (BASE + f"{DB}\t{ALIAS}\n").encode()
    assert node.stat("/etc/hosts.real").uid == 0
    assert not plan_on(MapHosts(), node, inv)[0]


def test_map_hosts_refuses_a_missing_or_non_utf8_hosts_file_and_changes_nothing():
    inv = inventory()
    node = MemoryNode(inv.hosts["esb-w1"])
    with pytest.raises(StepError, match="hosts file /etc/hosts does not exist on esb-w1"):
        plan_on(MapHosts(), node, inv)
    node.add_file("/etc/hosts", b"127.0.0.1 localhost\n10.0.0.1 caf\xe9\n")
    with pytest.raises(StepError, match=r"not UTF-8 text \(line 2"):
        plan_on(MapHosts(), node, inv)
    assert node.written == [] and node.data("/etc/hosts") == b"127.0.0.1 localhost\n10.0.0.1 caf\xe9\n"
