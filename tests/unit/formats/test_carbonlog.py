"""tasks/formats/carbonlog.py: Carbon 4.4.1's own lines (HazelcastGroupManagementAgent, StartupFinalizerServiceComponent)."""
from __future__ import annotations

from tasks.formats.carbonlog import members, since_start, started

LINE = "TID: [-1234] [] [2026-12-04 10:00:0{i},000]  INFO {{org.wso2.carbon.core.clustering.hazelcast." \
       "HazelcastGroupManagementAgent}} -  {msg} {{org.wso2.carbon.core.clustering.hazelcast.HazelcastGroupManagementAgent}}\n"


def log(*msgs: str) -> str:
    return "".join(LINE.format(i=i % 10, msg=m) for i, m in enumerate(msgs))


def test_members_joined_and_not_left_since_the_last_start():
    text = log("Starting WSO2 Carbon...", "Member joined [a]: /10.0.0.2:4100", "Member joined [b]: /10.0.0.3:4200",
               "WSO2 Carbon started in 31 sec", "Member left [b]: /10.0.0.3:4200", "Member joined [c]: /10.0.0.3:4200")
    assert members(text) == {("10.0.0.2", 4100), ("10.0.0.3", 4200)}
    assert started(text)
    again = text + log("Starting WSO2 Carbon...", "Member joined [d]: /10.0.0.4:4300")
    assert members(again) == {("10.0.0.4", 4300)}  # only what the server that started last saw
    assert not started(again)
    assert since_start(again).startswith("TID") and "10.0.0.2" not in since_start(again)


def test_a_log_without_a_start_marker_counts_whole():
    assert members(log("Member joined [x]: /192.168.1.13:4200")) == {("192.168.1.13", 4200)}
    assert not started("") and members("") == set()
