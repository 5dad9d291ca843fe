"""Scoring of property service projects and credit grading (评议监督考评制度).

The Shanxi plan (2022) scores each residential service project in three parts: basic
management (基础管理), common facilities management (共有设施设备管理) and owner satisfaction
(群众满意度). Jincheng grades enterprises A/B/C/D and attaches a consequence to each grade, and
a project delivering less than its contracted service grade (质价不符) must be rectified.

Neither document fixes weights or score bands, so the defaults below are configuration: a
deployment passes its own ``weights`` or ``bands``. Scores are Decimals so that a published
total (e.g. 89.95 -> 90.0, grade A) never depends on binary float rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from types import MappingProxyType

__all__ = [
    "DEFAULT_WEIGHTS", "DEFAULT_STAR_BANDS", "DEFAULT_GRADE_BANDS", "GRADES", "GradeConsequence",
    "score_project", "star_level", "credit_grade", "grade_consequence", "quality_below_price",
    "ProjectEvaluation", "evaluate_project",
]

#: Weight of each part in the project total; must sum to exactly 1.
DEFAULT_WEIGHTS = MappingProxyType({
    "basic": Decimal("0.4"),          # 基础管理
    "facilities": Decimal("0.3"),     # 共有设施设备管理
    "satisfaction": Decimal("0.3"),   # 群众满意度
})

_PART_NAMES = {"basic": "基础管理得分", "facilities": "共有设施设备管理得分",
               "satisfaction": "群众满意度得分"}

#: (lowest total, stars), highest first; the last band catches everything down to 0.
DEFAULT_STAR_BANDS = (
    (Decimal("90"), 5), (Decimal("80"), 4), (Decimal("70"), 3), (Decimal("60"), 2),
    (Decimal("0"), 1),
)

#: (lowest total, credit grade), highest first.
DEFAULT_GRADE_BANDS = (
    (Decimal("90"), "A"), (Decimal("75"), "B"), (Decimal("60"), "C"), (Decimal("0"), "D"),
)

GRADES = ("A", "B", "C", "D")

_ONE_DECIMAL = Decimal("0.1")
_MAX_SCORE = Decimal("100")


@dataclass(frozen=True)
class GradeConsequence:
    """What a credit grade triggers; ``notify_parties`` are the parties to circulate it to."""

    grade: str
    code: str
    description: str
    notify_parties: list[str]


# Wording quoted from the Jincheng housing bureau's 2024 reply.
_CONSEQUENCES = {
    "A": ("tender_bonus", "信用评价为A级的物业服务企业，在参加招投标时可予以加分", ()),
    "B": ("normal_supervision", "信用评价为B级的物业服务企业，实施正常监管", ()),
    "C": ("inspection", "信用评价为C级的物业服务企业，强化监督检查", ()),
    "D": ("credit_risk_notice",
          "信用评价为D级的物业服务企业，通报业主、业委会（物管会）、社区居委会，提示信用风险",
          ("owners", "owners_committee", "residents_committee")),
}


def _score(label: str, value) -> Decimal:
    """A score is a Decimal or int between 0 and 100 inclusive."""
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise TypeError(f"{label}必须是 Decimal 或整数（不接受浮点数）")
    value = Decimal(value)
    if not value.is_finite() or not 0 <= value <= _MAX_SCORE:
        raise ValueError(f"{label}必须在0至100之间，收到：{value}")
    return value


def _check_weights(weights) -> None:
    if set(weights) != set(DEFAULT_WEIGHTS):
        raise ValueError("权重必须且只能包含 basic、facilities、satisfaction 三项")
    for key, weight in weights.items():
        if isinstance(weight, bool) or not isinstance(weight, (Decimal, int)):
            raise TypeError(f"权重 {key} 必须是 Decimal 或整数（不接受浮点数）")
        if not Decimal(weight).is_finite() or weight < 0:
            raise ValueError(f"权重 {key} 不能为负数")
    if sum(Decimal(w) for w in weights.values()) != 1:
        raise ValueError("各项权重之和必须等于1")


def score_project(basic, facilities, satisfaction, weights=DEFAULT_WEIGHTS) -> Decimal:
    """Weighted project total, rounded half-up to one decimal as it is published."""
    _check_weights(weights)
    parts = {"basic": basic, "facilities": facilities, "satisfaction": satisfaction}
    total = sum(_score(_PART_NAMES[k], v) * Decimal(weights[k]) for k, v in parts.items())
    return Decimal(total).quantize(_ONE_DECIMAL, rounding=ROUND_HALF_UP)


def _band(total, bands):
    total = _score("总分", total)
    for lowest, value in bands:
        if total >= lowest:
            return value
    raise ValueError(f"总分{total}不在任何分档之内")


def star_level(total, bands=DEFAULT_STAR_BANDS) -> int:
    """Star level 1-5 of a project total (the delivered service grade)."""
    return _band(total, bands)


def credit_grade(total, bands=DEFAULT_GRADE_BANDS) -> str:
    """Credit grade A-D of a total score."""
    return _band(total, bands)


def grade_consequence(grade: str) -> GradeConsequence:
    """The supervision consequence of a credit grade (a fresh object each call)."""
    if grade not in _CONSEQUENCES:
        raise ValueError(f"信用等级必须是A、B、C、D之一，收到：{grade!r}")
    code, description, parties = _CONSEQUENCES[grade]
    return GradeConsequence(grade, code, description, list(parties))


def _level(label: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{label}必须是整数")
    if not 1 <= value <= 5:
        raise ValueError(f"{label}必须在1至5之间，收到：{value}")
    return value


def quality_below_price(service_grade_contracted: int, star: int) -> bool:
    """质价不符: the delivered star level is below the contracted (and priced) service grade."""
    contracted = _level("合同约定的服务等级", service_grade_contracted)
    return _level("考评星级", star) < contracted


@dataclass(frozen=True)
class ProjectEvaluation:
    """Everything one scoring decides: the total, the delivered star level, the credit grade
    with its consequence, and whether the project delivers less than its contracted grade."""

    total: Decimal
    star: int
    grade: str
    consequence: GradeConsequence
    below_price: bool


def evaluate_project(basic, facilities, satisfaction, service_grade_contracted, *,
                     weights=DEFAULT_WEIGHTS, star_bands=DEFAULT_STAR_BANDS,
                     grade_bands=DEFAULT_GRADE_BANDS) -> ProjectEvaluation:
    """Score a project and derive, from the one published total, its star level, credit grade,
    consequence and 质价不符; the contracted grade is checked before anything is computed."""
    contracted = _level("合同约定的服务等级", service_grade_contracted)
    total = score_project(basic, facilities, satisfaction, weights=weights)
    star = star_level(total, bands=star_bands)
    grade = credit_grade(total, bands=grade_bands)
    return ProjectEvaluation(total, star, grade, grade_consequence(grade),
                             quality_below_price(contracted, star))
