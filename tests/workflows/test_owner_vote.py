"""Civil Code Art. 278 boundaries: 以上 is inclusive, 过半数 is strict (Art. 1259)."""

from decimal import Decimal as D

import pytest

from workflows.rules import MATTERS, SPECIAL_MATTERS, VoteResult, owner_vote
from workflows.rules.owner_vote import MAJORITY, SUPERMAJORITY

TOTAL_AREA = D("3000.00")
TOTAL_OWNERS = 300
NORMAL = [m for m in range(1, 10) if m not in (6, 7, 8)]


def vote(matter=4, voted_area=D("2000.00"), voted_owners=200, yes_area=None, yes_owners=None,
         total_area=TOTAL_AREA, total_owners=TOTAL_OWNERS):
    yes_area = voted_area if yes_area is None else yes_area
    yes_owners = voted_owners if yes_owners is None else yes_owners
    return owner_vote(matter, total_area, total_owners, voted_area, voted_owners,
                      yes_area, yes_owners)


def test_matters_table():
    assert sorted(MATTERS) == list(range(1, 10))
    assert SPECIAL_MATTERS == {6, 7, 8}
    assert "解聘物业服务企业" in MATTERS[4]
    assert "筹集" in MATTERS[6] and "改建、重建" in MATTERS[7] and "改变共有部分的用途" in MATTERS[8]


def test_result_is_frozen():
    result = vote()
    assert isinstance(result, VoteResult)
    with pytest.raises(AttributeError):
        result.passed = False


# --- participation quorum: two thirds or more, by area AND by head --------------------------

def test_quorum_exactly_two_thirds_of_area_and_owners():
    result = vote(voted_area=D("2000.00"), voted_owners=200)
    assert result.quorum_met and result.passed and result.reasons == []


def test_quorum_area_one_hundredth_short():
    result = vote(voted_area=D("1999.99"), voted_owners=300)
    assert not result.quorum_met and not result.passed
    assert len(result.reasons) == 1
    assert "参与表决的专有部分面积" in result.reasons[0] and "三分之二" in result.reasons[0]


def test_quorum_one_owner_short():
    result = vote(voted_area=TOTAL_AREA, voted_owners=199)
    assert not result.quorum_met and not result.passed
    assert len(result.reasons) == 1 and "参与表决的业主人数" in result.reasons[0]


def test_quorum_both_short_reports_both():
    result = vote(voted_area=D("1999.99"), voted_owners=199)
    assert not result.quorum_met
    assert len(result.reasons) == 2


def test_no_quorum_fails_even_when_unanimous():
    result = vote(matter=1, voted_area=D("1000"), voted_owners=100)
    assert not result.quorum_met and not result.passed


def test_quorum_with_non_terminating_two_thirds():
    # 2/3 of 1000 m² is 666.666...; 666.67 reaches it, 666.66 does not.
    assert vote(total_area=D("1000"), voted_area=D("666.67"), total_owners=3,
                voted_owners=2).quorum_met
    assert not vote(total_area=D("1000"), voted_area=D("666.66"), total_owners=3,
                    voted_owners=2).quorum_met
    # 2/3 of 10 owners is 6.67: 7 owners are needed.
    assert not vote(total_owners=10, voted_owners=6, voted_area=TOTAL_AREA).quorum_met
    assert vote(total_owners=10, voted_owners=7, voted_area=TOTAL_AREA).quorum_met


# --- ordinary matters: more than half, strictly ----------------------------------------------

@pytest.mark.parametrize("matter", NORMAL)
def test_normal_matter_exactly_half_does_not_pass(matter):
    result = vote(matter, yes_area=D("1000.00"), yes_owners=100)
    assert result.quorum_met and not result.passed
    assert result.threshold == MAJORITY == "过半数"
    assert len(result.reasons) == 2


@pytest.mark.parametrize("matter", NORMAL)
def test_normal_matter_just_over_half_passes(matter):
    result = vote(matter, yes_area=D("1000.01"), yes_owners=101)
    assert result.passed and result.reasons == []


def test_normal_matter_area_alone_is_not_enough():
    result = vote(4, yes_area=D("2000.00"), yes_owners=100)
    assert result.quorum_met and not result.passed
    assert len(result.reasons) == 1 and "同意的业主人数" in result.reasons[0]
    assert "过半数" in result.reasons[0]


def test_normal_matter_heads_alone_are_not_enough():
    result = vote(4, yes_area=D("1000.00"), yes_owners=200)
    assert not result.passed
    assert len(result.reasons) == 1 and "同意的专有部分面积" in result.reasons[0]


def test_majority_counted_on_participants_not_on_all_owners():
    # 2400 m² / 240 owners take part; 1200.01 m² and 121 owners is a majority of them.
    result = vote(4, voted_area=D("2400.00"), voted_owners=240,
                  yes_area=D("1200.01"), yes_owners=121)
    assert result.passed
    assert not vote(4, voted_area=D("2400.00"), voted_owners=240,
                    yes_area=D("1200.00"), yes_owners=121).passed


# --- items 6-8: three quarters or more, inclusive ------------------------------------------

@pytest.mark.parametrize("matter", [6, 7, 8])
def test_special_matter_exactly_three_quarters_passes(matter):
    result = vote(matter, yes_area=D("1500.00"), yes_owners=150)
    assert result.passed and result.threshold == SUPERMAJORITY == "四分之三以上"


@pytest.mark.parametrize("matter", [6, 7, 8])
def test_special_matter_just_below_three_quarters_fails(matter):
    assert not vote(matter, yes_area=D("1499.99"), yes_owners=150).passed
    assert not vote(matter, yes_area=D("1500.00"), yes_owners=149).passed


@pytest.mark.parametrize("matter", [6, 7, 8])
def test_special_matter_needs_more_than_a_majority(matter):
    result = vote(matter, yes_area=D("1400.00"), yes_owners=140)
    assert result.quorum_met and not result.passed
    assert all("四分之三以上" in r for r in result.reasons) and len(result.reasons) == 2


def test_special_matter_area_and_heads_separately():
    assert not vote(7, yes_area=D("2000.00"), yes_owners=149).passed
    assert not vote(7, yes_area=D("1499.99"), yes_owners=200).passed


def test_integers_accepted_for_areas():
    assert owner_vote(6, 3000, 300, 2000, 200, 1500, 150).passed


# --- validation -----------------------------------------------------------------------------

@pytest.mark.parametrize("matter", [0, 10, -1])
def test_matter_out_of_range(matter):
    with pytest.raises(ValueError, match="1至9"):
        vote(matter)


@pytest.mark.parametrize("matter", ["4", 4.0, True, None])
def test_matter_wrong_type(matter):
    with pytest.raises(TypeError):
        vote(matter)


@pytest.mark.parametrize("position", [1, 3, 5])
def test_float_areas_refused(position):
    args = [4, D("3000"), 300, D("2000"), 200, D("2000"), 200]
    args[position] = float(args[position])
    with pytest.raises(TypeError, match="浮点数"):
        owner_vote(*args)


@pytest.mark.parametrize("position", [2, 4, 6])
def test_non_integer_owner_counts_refused(position):
    args = [4, D("3000"), 300, D("2000"), 200, D("2000"), 200]
    args[position] = D(args[position])
    with pytest.raises(TypeError, match="整数"):
        owner_vote(*args)


def test_bool_refused_as_count():
    with pytest.raises(TypeError):
        owner_vote(4, D("3000"), 300, D("2000"), True, D("2000"), True)


@pytest.mark.parametrize("kwargs, message", [
    (dict(total_area=D("0")), "专有部分总面积必须大于零"),
    (dict(total_owners=0), "业主总人数必须大于零"),
    (dict(voted_area=D("3000.01")), "参与表决的专有部分面积不能超过总面积"),
    (dict(voted_owners=301), "参与表决的业主人数不能超过业主总人数"),
    (dict(yes_area=D("2000.01")), "同意的专有部分面积不能超过参与表决的专有部分面积"),
    (dict(yes_owners=201), "同意的业主人数不能超过参与表决的业主人数"),
    (dict(yes_area=D("-1")), "同意的专有部分面积不能为负数"),
    (dict(yes_owners=-1), "同意的业主人数不能为负数"),
    (dict(total_area=D("-3000")), "专有部分总面积不能为负数"),
    (dict(voted_area=D("NaN")), "有限"),
    (dict(total_area=D("Infinity")), "有限"),
])
def test_impossible_figures(kwargs, message):
    with pytest.raises(ValueError, match=message):
        vote(**kwargs)
