"""Project scoring, star levels, credit grades and their consequences."""

from decimal import Decimal as D

import pytest

from workflows.rules import (
    DEFAULT_GRADE_BANDS, DEFAULT_STAR_BANDS, DEFAULT_WEIGHTS, GradeConsequence, credit_grade,
    grade_consequence, quality_below_price, score_project, star_level,
)


def test_default_weights():
    assert dict(DEFAULT_WEIGHTS) == {"basic": D("0.4"), "facilities": D("0.3"),
                                     "satisfaction": D("0.3")}
    assert sum(DEFAULT_WEIGHTS.values()) == 1
    with pytest.raises(TypeError):
        DEFAULT_WEIGHTS["basic"] = D("1")


def test_score_weighted_total():
    assert score_project(90, 80, 70) == D("81.0")
    assert score_project(100, 100, 100) == D("100.0")
    assert score_project(0, 0, 0) == D("0.0")
    assert score_project(D("85.5"), D("90.25"), D("77")) == D("84.4")  # 34.2+27.075+23.1=84.375


def test_score_rounds_half_up():
    # 89.95 -> 90.0 lifts a project into grade A; 80.05 -> 80.1 where banker's rounding
    # would give 80.0.
    assert score_project(D("89.875"), 90, 90) == D("90.0")
    assert score_project(D("80.125"), 80, 80) == D("80.1")
    assert score_project(D("80.124"), 80, 80) == D("80.0")


def test_score_result_has_one_decimal():
    assert score_project(90, 80, 70).as_tuple().exponent == -1


def test_custom_weights():
    weights = {"basic": D("0.5"), "facilities": D("0.25"), "satisfaction": D("0.25")}
    assert score_project(100, 0, 0, weights=weights) == D("50.0")
    assert score_project(0, 0, 100, weights={"basic": 0, "facilities": 0,
                                             "satisfaction": 1}) == D("100.0")


@pytest.mark.parametrize("weights, error, message", [
    ({"basic": D("0.5"), "facilities": D("0.3"), "satisfaction": D("0.3")}, ValueError, "之和"),
    ({"basic": D("0.4"), "facilities": D("0.6")}, ValueError, "三项"),
    ({"basic": D("0.4"), "facilities": D("0.3"), "satisfaction": D("0.3"), "x": 0},
     ValueError, "三项"),
    ({"basic": D("1.4"), "facilities": D("-0.4"), "satisfaction": D("0")}, ValueError, "负数"),
    ({"basic": 0.4, "facilities": D("0.3"), "satisfaction": D("0.3")}, TypeError, "浮点数"),
])
def test_bad_weights(weights, error, message):
    with pytest.raises(error, match=message):
        score_project(80, 80, 80, weights=weights)


@pytest.mark.parametrize("args, message", [
    ((101, 80, 80), "基础管理得分必须在0至100之间"),
    ((80, -1, 80), "共有设施设备管理得分必须在0至100之间"),
    ((80, 80, D("100.01")), "群众满意度得分必须在0至100之间"),
    ((D("NaN"), 80, 80), "基础管理得分"),
])
def test_scores_out_of_range(args, message):
    with pytest.raises(ValueError, match=message):
        score_project(*args)


def test_float_scores_refused():
    with pytest.raises(TypeError, match="浮点数"):
        score_project(80.5, 80, 80)


@pytest.mark.parametrize("total, stars", [
    (100, 5), (D("90"), 5), (D("89.9"), 4), (80, 4), (D("79.9"), 3), (70, 3),
    (D("69.9"), 2), (60, 2), (D("59.9"), 1), (0, 1),
])
def test_star_bands(total, stars):
    assert star_level(total) == stars


def test_star_bands_are_data():
    assert DEFAULT_STAR_BANDS[0] == (D("90"), 5)
    custom = ((D("95"), 5), (D("0"), 1))
    assert star_level(D("94.9"), bands=custom) == 1


@pytest.mark.parametrize("total, grade", [
    (100, "A"), (90, "A"), (D("89.9"), "B"), (75, "B"), (D("74.9"), "C"), (60, "C"),
    (D("59.9"), "D"), (0, "D"),
])
def test_grade_bands(total, grade):
    assert credit_grade(total) == grade


def test_grade_bands_are_data():
    assert [g for _, g in DEFAULT_GRADE_BANDS] == ["A", "B", "C", "D"]


@pytest.mark.parametrize("fn", [star_level, credit_grade])
def test_total_validated(fn):
    with pytest.raises(ValueError, match="总分必须在0至100之间"):
        fn(D("100.1"))
    with pytest.raises(ValueError):
        fn(-1)
    with pytest.raises(TypeError):
        fn(90.0)


def test_band_gap_is_reported():
    with pytest.raises(ValueError, match="分档"):
        star_level(10, bands=((D("50"), 5),))


@pytest.mark.parametrize("grade, code, quote", [
    ("A", "tender_bonus", "招投标时可予以加分"),
    ("B", "normal_supervision", "实施正常监管"),
    ("C", "inspection", "强化监督检查"),
    ("D", "credit_risk_notice", "通报业主、业委会（物管会）、社区居委会，提示信用风险"),
])
def test_grade_consequences(grade, code, quote):
    consequence = grade_consequence(grade)
    assert isinstance(consequence, GradeConsequence)
    assert consequence.grade == grade and consequence.code == code
    assert quote in consequence.description
    expected = ["owners", "owners_committee", "residents_committee"] if grade == "D" else []
    assert consequence.notify_parties == expected


def test_consequence_is_a_fresh_copy():
    grade_consequence("D").notify_parties.clear()
    assert len(grade_consequence("D").notify_parties) == 3


@pytest.mark.parametrize("grade", ["E", "a", "", None])
def test_unknown_grade(grade):
    with pytest.raises(ValueError, match="信用等级必须是A、B、C、D之一"):
        grade_consequence(grade)


@pytest.mark.parametrize("contracted, star, below", [
    (3, 2, True), (3, 3, False), (3, 4, False), (5, 4, True), (1, 1, False), (5, 1, True),
])
def test_quality_below_price(contracted, star, below):
    assert quality_below_price(contracted, star) is below


def test_quality_below_price_chain():
    # A grade-4 contract whose project scores 79.9 delivers three stars: 质价不符.
    assert quality_below_price(4, star_level(score_project(80, 80, D("79.7"))))


@pytest.mark.parametrize("args, error, message", [
    ((0, 3), ValueError, "合同约定的服务等级必须在1至5之间"),
    ((6, 3), ValueError, "合同约定的服务等级必须在1至5之间"),
    ((3, 0), ValueError, "考评星级必须在1至5之间"),
    ((3, 6), ValueError, "考评星级必须在1至5之间"),
    ((3.0, 3), TypeError, "合同约定的服务等级必须是整数"),
    ((3, True), TypeError, "考评星级必须是整数"),
])
def test_quality_below_price_validation(args, error, message):
    with pytest.raises(error, match=message):
        quality_below_price(*args)


# -- one scoring, everything it decides ------------------------------------------------------

def test_evaluate_project_derives_everything_from_one_total():
    from workflows.rules import ProjectEvaluation, evaluate_project
    result = evaluate_project(80, 80, D("79.7"), 4)  # 79.9: three stars under a grade-4 contract
    assert isinstance(result, ProjectEvaluation)
    assert (result.total, result.star, result.grade, result.below_price) == (D("79.9"), 3, "B", True)
    assert result.consequence == grade_consequence("B")
    top = evaluate_project(D("89.875"), 90, 90, 5)  # rounds half-up to 90.0: A, five stars
    assert (top.total, top.star, top.grade, top.below_price) == (D("90.0"), 5, "A", False)
    assert top.consequence.code == "tender_bonus"


def test_evaluate_project_passes_configuration_through():
    from workflows.rules import evaluate_project
    result = evaluate_project(100, 0, 0, 1, weights={"basic": 1, "facilities": 0, "satisfaction": 0},
                              star_bands=((D("95"), 5), (D("0"), 1)),
                              grade_bands=((D("99"), "A"), (D("0"), "D")))
    assert (result.total, result.star, result.grade) == (D("100.0"), 5, "A")


@pytest.mark.parametrize("contracted, error", [(0, ValueError), (6, ValueError), ("4", TypeError)])
def test_evaluate_project_checks_contracted_grade_first(contracted, error):
    from workflows.rules import evaluate_project
    with pytest.raises(error, match="合同约定的服务等级"):
        evaluate_project(80, 80, 80, contracted)
    with pytest.raises(error, match="合同约定的服务等级"):  # even when a score is bad too
        evaluate_project(101, 80, 80, contracted)
