"""Default periods carry their legal source and yield to contract or deployment overrides."""

import pytest

from workflows.rules import DEFAULT_PERIODS, Period, period
from workflows.rules.periods import UNITS

EXPECTED = {
    "owners_meeting_notice_days": (15, "days", "物业管理条例》第十四条"),
    "dismissal_notice_days": (60, "days", "第九百四十六条"),
    "non_renewal_notice_days": (90, "days", "第九百四十七条"),
    "indefinite_term_notice_days": (60, "days", "第九百四十八条"),
    "exit_period_days": (15, "days", "地方"),
    "handover_order_working_days": (10, "working_days", "责令"),
    "renewal_preparation_days": (30, "days", "第九百四十七条"),
    "continued_service_check_days": (30, "days", "第九百五十条"),
    "rectification_working_days": (15, "working_days", "整改"),
    "problem_community_working_days": (5, "working_days", "社区"),
    "problem_street_working_days": (10, "working_days", "街道"),
    "problem_bureau_working_days": (15, "working_days", "住建"),
    "publicity_days": (7, "days", "公示"),
    "problem_confirm_working_days": (5, "working_days", "视为认可"),
    "publicity_review_working_days": (3, "working_days", "审核"),
    "objection_reply_working_days": (5, "working_days", "异议"),
    "joint_meeting_notice_days": (3, "days", "联席会议"),
    "report_days_of_month": ([3, 18], "days_of_month", "3日、18日"),
    "report_review_working_days": (2, "working_days", "报告"),
    "report_correction_working_days": (2, "working_days", "退回"),
    "evaluation_scoring_working_days": (10, "working_days", "量化打分"),
    "evaluation_review_working_days": (5, "working_days", "信用评价"),
    "credit_inspection_working_days": (20, "working_days", "C级"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_defaults(name):
    value, unit, source = EXPECTED[name]
    entry = DEFAULT_PERIODS[name]
    assert isinstance(entry, Period)
    assert entry.unit == unit and source in entry.source
    assert period(name) == value


def test_every_entry_is_well_formed():
    assert set(DEFAULT_PERIODS) == set(EXPECTED)
    for entry in DEFAULT_PERIODS.values():
        assert entry.unit in UNITS and entry.source


def test_defaults_are_immutable():
    with pytest.raises(TypeError):
        DEFAULT_PERIODS["publicity_days"] = Period(1, "days", "x")
    with pytest.raises(AttributeError):
        DEFAULT_PERIODS["publicity_days"].value = 1
    period("report_days_of_month").append(25)
    assert period("report_days_of_month") == [3, 18]


def test_contract_overrides_dismissal_notice():
    # Art. 946: "但是合同对通知期限另有约定的除外".
    assert period("dismissal_notice_days", {"dismissal_notice_days": 30}) == 30
    assert period("non_renewal_notice_days", {"dismissal_notice_days": 30}) == 90


def test_none_override_keeps_default():
    assert period("exit_period_days", {"exit_period_days": None}) == 15
    assert period("exit_period_days", None) == 15
    assert period("exit_period_days", {}) == 15


def test_days_of_month_override():
    assert period("report_days_of_month", {"report_days_of_month": (25, 5)}) == [5, 25]


def test_unknown_name():
    with pytest.raises(KeyError, match="未知的期限名称"):
        period("no_such_period")


def test_misspelt_override_is_refused():
    with pytest.raises(KeyError, match="dismisal_notice_days"):
        period("dismissal_notice_days", {"dismisal_notice_days": 30})


@pytest.mark.parametrize("name, value, error", [
    ("dismissal_notice_days", -1, ValueError),
    ("dismissal_notice_days", 30.0, TypeError),
    ("dismissal_notice_days", "30", TypeError),
    ("dismissal_notice_days", True, TypeError),
    ("report_days_of_month", [], ValueError),
    ("report_days_of_month", [0, 18], ValueError),
    ("report_days_of_month", [3, 32], ValueError),
    ("report_days_of_month", "3,18", TypeError),
    ("report_days_of_month", 3, TypeError),
])
def test_bad_override_values(name, value, error):
    with pytest.raises(error):
        period(name, {name: value})
