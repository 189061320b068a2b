"""set-admin-password on nodes in memory (tests/memnode.py): user-mgt.xml's AdminUser/Password on the shipped file,
the advisory about 'admin', the secret's rules, and the manager's user store where it cannot be reached.

Not covered here: the UM_USER row itself (read and updated in MariaDB with Carbon's salted hash) is the acceptance
tests' (tests/acceptance/test_hardening.py); carbon_hash is test_vault's."""
from __future__ import annotations

import pytest

from tasks.engine.context import StepError
from tasks.rules import USER_MGT
from tasks.formats import usermgtxml
from tasks.formats.xmldoc import XmlDoc
from tasks.steps.adminpass import SetAdminPassword, check_password
from tests.memnode import MemoryNode, product_node
from tests.unit.helpers import STEP_SECRETS, base_data, inventory, patch_on, plan_on, shipped, whats

PASSWORD = "Realm/Configuration/AdminUser/Password"


def test_a_worker_gets_the_password_masked_and_the_file_closed_to_others_and_converges():
    inv = inventory()
    node = product_node(inv.hosts["esb-w1"])
    plan, _ = plan_on(SetAdminPassword(), node, inv)
    assert whats(plan) == [(USER_MGT, PASSWORD), (USER_MGT, "mode (holds a secret: no access for others)")]
    assert [(a.what, a.actual) for a in plan.advisories] == [(PASSWORD, "admin")]
    assert STEP_SECRETS["ADMIN_PASSWORD"] not in plan.files[0].diff() and plan.files[0].mode == 0o640
    patch_on(SetAdminPassword(), node, inv)
    assert STEP_SECRETS["ADMIN_PASSWORD"].encode() in node.data(plan.files[0].path)
    again, _ = plan_on(SetAdminPassword(), node, inv)
    assert not again and again.advisories == []


def test_the_manager_notes_a_user_store_it_cannot_check_and_still_plans_the_file():
    inv = inventory()
    node = product_node(inv.hosts["esb-mgr"])
    plan, _ = plan_on(SetAdminPassword(), node, inv)  # no MYSQL_ADMIN_PASSWORD
    assert plan.notes == ["user store not checked: MYSQL_ADMIN_PASSWORD is not set"] and whats(plan)[0][1] == PASSWORD
    data = base_data()
    data["database"]["tunnel"] = True
    inv = inventory(data)
    secrets = dict(STEP_SECRETS, MYSQL_ADMIN_PASSWORD="Admin-db-pass1")
    plan, _ = plan_on(SetAdminPassword(), product_node(inv.hosts["esb-mgr"]), inv, secrets,
                      others={"db1": MemoryNode(inv.hosts["db1"])})
    assert len(plan.notes) == 1 and plan.notes[0].startswith("user store not checked: database unreachable at "
                                                             "127.0.0.1/192.168.1.20:3306 through SSH to db1")
    assert plan.actions == []


@pytest.mark.parametrize("bad,why", [("admin", "the shipped password"), ("abc", "5 to 30 characters"),
                                     ("with space", "5 to 30 characters")])
def test_a_password_carbon_refuses_is_refused_before_anything_changes(bad, why):
    with pytest.raises(StepError, match=why):
        check_password(bad)
    inv = inventory()
    node = product_node(inv.hosts["esb-w1"])
    with pytest.raises(StepError, match=why):
        plan_on(SetAdminPassword(), node, inv, dict(STEP_SECRETS, ADMIN_PASSWORD=bad))
    assert node.written == []


def test_the_admin_user_name_is_read_from_user_mgt_xml():
    assert usermgtxml.read(XmlDoc(shipped(USER_MGT))).admin == "admin"
    other = b"<UserManager><Realm><Configuration><!-- <AdminUser><UserName>old</UserName></AdminUser> -->" \
            b"<AdminUser>\n  <UserName>root2</UserName></AdminUser></Configuration></Realm></UserManager>"
    assert usermgtxml.read(XmlDoc(other)).admin == "root2"
