"""The Art. 949 handover checklist: every item confirmed, over as many confirmations as it takes."""
import pytest

from workflows.rules.handover import (HANDOVER_ITEMS, RECEIVERS, checklist, merge_confirmed,
                                      outstanding)

ALL = ["service_rooms", "facilities", "keys", "drawings", "records", "owner_roster",
       "prepaid_fees", "public_revenue", "maintenance_fund"]


def test_the_checklist_covers_what_art_949_and_local_rules_name():
    assert checklist() == ALL
    assert HANDOVER_ITEMS["service_rooms"] == "物业服务用房"
    assert "竣工图" in HANDOVER_ITEMS["drawings"] and "维修资金" in HANDOVER_ITEMS["maintenance_fund"]
    assert "公共收益" in HANDOVER_ITEMS["public_revenue"] and HANDOVER_ITEMS["owner_roster"] == "业主名册"
    assert set(RECEIVERS) == {"owners_committee", "self_managing_owners", "nominee"}
    checklist().append("x")  # a fresh list each time: callers cannot change the rule
    assert checklist() == ALL


def test_partial_confirmations_add_up_in_checklist_order():
    first = merge_confirmed([], ["keys", "service_rooms"])
    assert first == ["service_rooms", "keys"]
    assert outstanding(first) == [i for i in ALL if i not in first]
    second = merge_confirmed(first, ["keys", "maintenance_fund"])  # keys again: no double count
    assert second == ["service_rooms", "keys", "maintenance_fund"]
    done = merge_confirmed(second, [i for i in ALL if i not in second])
    assert done == ALL and outstanding(done) == []
    assert outstanding([]) == ALL


def test_unknown_items_are_refused():
    with pytest.raises(ValueError, match="未知的移交项目：garage"):
        merge_confirmed(["keys"], ["garage"])
    with pytest.raises(TypeError, match="移交项目必须是项目代码的列表"):
        outstanding("keys")
