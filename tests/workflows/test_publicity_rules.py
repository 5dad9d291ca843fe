"""The rules of publicity: who reviews what, and when a notice period ends (Civil Code Arts. 201,
203) on China's official calendar, across the 2025 National Day and 2026 Spring Festival."""
from datetime import date

import pytest

from workflows.rules.publicity import KINDS, notice_period_end, reviewer_for


@pytest.mark.parametrize("posted_on, days, ends_on", [
    (date(2026, 3, 2), 7, date(2026, 3, 9)),     # the day of posting is not counted
    (date(2026, 3, 2), 1, date(2026, 3, 3)),
    (date(2026, 3, 6), 1, date(2026, 3, 9)),     # Saturday 7 March is a day off: to Monday
    (date(2026, 3, 6), 2, date(2026, 3, 9)),     # Sunday 8 March too
    (date(2026, 3, 6), 3, date(2026, 3, 9)),     # Monday 9 March is the last day itself
    (date(2025, 9, 26), 7, date(2025, 10, 9)),   # National Day holiday 1-8 October 2025
    (date(2025, 9, 21), 7, date(2025, 9, 28)),   # Sunday 28 September 2025 was a working day
    (date(2025, 10, 4), 7, date(2025, 10, 11)),  # and so was Saturday 11 October
    (date(2026, 2, 10), 7, date(2026, 2, 24)),   # Spring Festival holiday 15-23 February 2026
    (date(2026, 2, 7), 7, date(2026, 2, 14)),    # Saturday 14 February 2026 was a working day
    (date(2026, 2, 16), 7, date(2026, 2, 24)),   # posted in the holiday, ends after it
])
def test_notice_period_end(posted_on, days, ends_on):
    assert notice_period_end(posted_on, days) == ends_on


@pytest.mark.parametrize("days", [0, -1, True, 7.0, "7"])
def test_notice_period_refuses_a_bad_length(days):
    with pytest.raises(ValueError, match="公示期必须是正整数天数"):
        notice_period_end(date(2026, 3, 2), days)


def test_reviewer_by_kind_unless_named():
    assert {kind: reviewer_for(kind) for kind in KINDS} == {
        "general": "street", "service_disclosure": "street", "fund_usage": "street",
        "meeting_minutes": "street", "evaluation_result": "street",
        "violation_circular": "bureau"}
    assert reviewer_for("violation_circular", "street") == "street"
    assert reviewer_for("general", "bureau") == "bureau"
    with pytest.raises(ValueError, match="未知的公示类别"):
        reviewer_for("notice")
    with pytest.raises(ValueError, match="未知的审核单位"):
        reviewer_for("general", "district")
