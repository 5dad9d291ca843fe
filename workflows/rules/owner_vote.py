"""Owners' joint decisions under Civil Code (民法典) Art. 278.

The owners' assembly decides the nine matters of Art. 278 with a double majority: by exclusive
area (专有部分面积) AND by head (人数). A dismissal that miscounts by one square metre or one owner
is open to challenge, so every comparison here is done in exact integer/Decimal arithmetic
(``3 * voted >= 2 * total`` rather than ``voted / total >= 0.6667``), and floats are refused
because they cannot even hold a figure such as 2000.01 exactly.

Art. 1259 fixes the reading of the thresholds: "以上" includes the number itself, "过半数" does
not. Hence two thirds and three quarters are inclusive, "more than half" is strict.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType

__all__ = ["MATTERS", "SPECIAL_MATTERS", "VoteResult", "owner_vote"]

#: Art. 278 items, numbered as in the statute.
MATTERS = MappingProxyType({
    1: "制定和修改业主大会议事规则",
    2: "制定和修改管理规约",
    3: "选举业主委员会或者更换业主委员会成员",
    4: "选聘和解聘物业服务企业或者其他管理人",
    5: "使用建筑物及其附属设施的维修资金",
    6: "筹集建筑物及其附属设施的维修资金",
    7: "改建、重建建筑物及其附属设施",
    8: "改变共有部分的用途或者利用共有部分从事经营活动",
    9: "有关共有和共同管理权利的其他重大事项",
})

#: Items 6-8 need three quarters or more of the participants instead of more than half.
SPECIAL_MATTERS = frozenset({6, 7, 8})

MAJORITY = "过半数"
SUPERMAJORITY = "四分之三以上"

_AREA_NAMES = {
    "total_area": "专有部分总面积",
    "voted_area": "参与表决的专有部分面积",
    "yes_area": "同意的专有部分面积",
}
_COUNT_NAMES = {
    "total_owners": "业主总人数",
    "voted_owners": "参与表决的业主人数",
    "yes_owners": "同意的业主人数",
}


@dataclass(frozen=True)
class VoteResult:
    """Outcome of one Art. 278 vote; ``reasons`` explains, in Chinese, each failed condition."""

    quorum_met: bool
    passed: bool
    threshold: str
    reasons: list[str] = field(default_factory=list)


def _area(name: str, value) -> Decimal:
    """Accept Decimal or int square metres; floats would blur the legal boundary."""
    label = _AREA_NAMES[name]
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise TypeError(f"{label}必须是 Decimal 或整数（不接受浮点数，浮点数无法精确表示面积）")
    value = Decimal(value)
    if not value.is_finite():
        raise ValueError(f"{label}必须是有限的数值")
    if value < 0:
        raise ValueError(f"{label}不能为负数")
    return value


def _count(name: str, value) -> int:
    """Owners are counted by head, so only whole numbers make sense."""
    label = _COUNT_NAMES[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{label}必须是整数")
    if value < 0:
        raise ValueError(f"{label}不能为负数")
    return value


def _validate_matter(matter) -> None:
    if isinstance(matter, bool) or not isinstance(matter, int):
        raise TypeError("表决事项必须是民法典第二百七十八条所列事项的序号（整数1至9）")
    if matter not in MATTERS:
        raise ValueError(f"表决事项序号必须在1至9之间，收到：{matter}")


def owner_vote(matter, total_area, total_owners, voted_area, voted_owners,
               yes_area, yes_owners) -> VoteResult:
    """Decide whether owners carried Art. 278 item ``matter``.

    Quorum: participants hold two thirds or more of the exclusive area AND are two thirds or
    more of all owners. Without a quorum the vote is void, so only the quorum failures are
    reported. With a quorum, items 6-8 need yes >= 3/4 of the participating area AND owners;
    every other item needs yes > 1/2 of both.

    Raises ``TypeError`` for floats or non-integers where counts are expected, and
    ``ValueError`` (Chinese message) for impossible figures.
    """
    _validate_matter(matter)
    t_area = _area("total_area", total_area)
    v_area = _area("voted_area", voted_area)
    y_area = _area("yes_area", yes_area)
    t_owners = _count("total_owners", total_owners)
    v_owners = _count("voted_owners", voted_owners)
    y_owners = _count("yes_owners", yes_owners)

    if t_area <= 0:
        raise ValueError("专有部分总面积必须大于零")
    if t_owners <= 0:
        raise ValueError("业主总人数必须大于零")
    if v_area > t_area:
        raise ValueError("参与表决的专有部分面积不能超过总面积")
    if v_owners > t_owners:
        raise ValueError("参与表决的业主人数不能超过业主总人数")
    if y_area > v_area:
        raise ValueError("同意的专有部分面积不能超过参与表决的专有部分面积")
    if y_owners > v_owners:
        raise ValueError("同意的业主人数不能超过参与表决的业主人数")

    special = matter in SPECIAL_MATTERS
    threshold = SUPERMAJORITY if special else MAJORITY

    reasons: list[str] = []
    if not 3 * v_area >= 2 * t_area:
        reasons.append(
            f"参与表决的专有部分面积{v_area}平方米未达到专有部分总面积{t_area}平方米的三分之二以上")
    if not 3 * v_owners >= 2 * t_owners:
        reasons.append(
            f"参与表决的业主人数{v_owners}人未达到业主总人数{t_owners}人的三分之二以上")
    if reasons:
        return VoteResult(quorum_met=False, passed=False, threshold=threshold, reasons=reasons)

    if special:
        area_ok = 4 * y_area >= 3 * v_area
        owners_ok = 4 * y_owners >= 3 * v_owners
    else:
        area_ok = 2 * y_area > v_area
        owners_ok = 2 * y_owners > v_owners
    if not area_ok:
        reasons.append(
            f"同意的专有部分面积{y_area}平方米未达到参与表决的专有部分面积{v_area}平方米的{threshold}")
    if not owners_ok:
        reasons.append(
            f"同意的业主人数{y_owners}人未达到参与表决的业主人数{v_owners}人的{threshold}")
    return VoteResult(quorum_met=True, passed=not reasons, threshold=threshold, reasons=reasons)
