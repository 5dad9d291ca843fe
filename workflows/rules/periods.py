"""Legal and customary default periods, each with the rule it comes from.

Periods live here as data, never as literals in processes or handlers, because most of them
are defaults that a contract or a local regulation may change: Civil Code Arts. 946-948 each
say "unless the contract provides otherwise", and local rules set the exit and handover
periods. Callers pass such changes as ``overrides``.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["UNITS", "Period", "DEFAULT_PERIODS", "period"]

UNITS = ("days", "working_days", "days_of_month")


@dataclass(frozen=True)
class Period:
    """A default period: ``value`` in ``unit``, with its ``source`` for the record."""

    value: int | tuple[int, ...]
    unit: str
    source: str


DEFAULT_PERIODS = MappingProxyType({
    "owners_meeting_notice_days": Period(
        15, "days", "《物业管理条例》第十四条：召开业主大会会议，应当于会议召开15日以前通知全体业主"),
    "dismissal_notice_days": Period(
        60, "days", "《民法典》第九百四十六条：解聘物业服务人应当提前六十日书面通知，合同另有约定的除外"),
    "non_renewal_notice_days": Period(
        90, "days", "《民法典》第九百四十七条：物业服务人不同意续聘的，应当在合同期限届满前九十日书面通知，合同另有约定的除外"),
    "indefinite_term_notice_days": Period(
        60, "days", "《民法典》第九百四十八条：不定期物业服务合同，当事人可以随时解除，但应当提前六十日书面通知对方"),
    "exit_period_days": Period(
        15, "days", "地方物业管理规定：物业服务人退出期限（常见为10日或15日），见《民法典》第九百四十九条"),
    "handover_order_working_days": Period(
        10, "working_days", "地方物业管理规定：拒不移交的，住房和城乡建设部门责令限期移交"),
    "renewal_preparation_days": Period(
        30, "days", "《民法典》第九百四十七条：续聘须业主依法共同决定（第二百七十八条），召开业主大会会议应提前15日通知"
        "（《物业管理条例》第十四条）；在九十日通知期之前预留筹备、表决和计票的时间（本系统默认值）"),
    "continued_service_check_days": Period(
        30, "days", "《民法典》第九百五十条：新物业服务人或自行管理的业主接管之前，原物业服务人继续处理物业服务事项，"
        "可以请求支付该期间的物业费；社区按月确认服务情况（本系统默认值）"),
    "rectification_working_days": Period(
        15, "working_days", "晋城市住建局答复：发现问题下达整改通知，限期整改"),
    "problem_community_working_days": Period(
        5, "working_days", "三方联动协调联动解决实际问题制度：小矛盾不出社区"),
    "problem_street_working_days": Period(
        10, "working_days", "三方联动协调联动解决实际问题制度：一般矛盾不出街道"),
    "problem_bureau_working_days": Period(
        15, "working_days", "三方联动协调联动解决实际问题制度：街道未能解决的上报住建部门"),
    "publicity_days": Period(
        7, "days", "三方联动公示通报和报告制度；《民法典》第九百四十三条定期公开"),
    "problem_confirm_working_days": Period(
        5, "working_days", "三方联动协调联动解决实际问题制度：处理结果告知反映方确认，逾期未确认的视为认可（地方默认值）"),
    "publicity_review_working_days": Period(
        3, "working_days", "三方联动公示通报和报告制度：公示、通报内容报街道或住建部门审核（地方默认值）"),
    "objection_reply_working_days": Period(
        5, "working_days", "三方联动公示通报和报告制度：公示期内收到的异议，核实后答复异议人（地方默认值）"),
    "joint_meeting_notice_days": Period(
        3, "days", "三方联动联席会议制度：会前通知三方"),
    "report_days_of_month": Period(
        (3, 18), "days_of_month", "山西省工作专班：各市于每月3日、18日前报送工作进展"),
    "report_review_working_days": Period(
        2, "working_days", "三方联动公示通报和报告制度：上级收到报告后审核，退回的限期修改（地方默认值）"),
    "report_correction_working_days": Period(
        2, "working_days", "三方联动公示通报和报告制度：报告被退回的，限期修改后重新报送（地方默认值）"),
    "evaluation_scoring_working_days": Period(
        10, "working_days", "山西省工作专班《工作安排》二（八）：对住宅物业服务项目基础管理、共有设施设备管理、群众满意度量化打分（地方默认值）"),
    "evaluation_review_working_days": Period(
        5, "working_days", "晋城市住建局答复：物业服务企业信用评价，分A、B、C、D四个等级（审核确认，地方默认值）"),
    "credit_inspection_working_days": Period(
        20, "working_days", "晋城市住建局答复：对信用评价为C级的物业服务企业，强化监督检查（地方默认值）"),
})


def _check_value(name: str, unit: str, value):
    """An override must have the shape of the default it replaces."""
    if unit == "days_of_month":
        if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
            raise TypeError(f"期限 {name} 必须是日期（每月第几日）的列表")
        days = list(value)
        if not days or any(isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= 31
                           for d in days):
            raise ValueError(f"期限 {name} 必须是1至31之间的日期，且不能为空")
        return sorted(days)
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"期限 {name} 必须是整数天数")
    if value < 0:
        raise ValueError(f"期限 {name} 不能为负数")
    return value


def _unknown(name) -> KeyError:
    return KeyError(f"未知的期限名称：{name!r}；可用的有：{', '.join(DEFAULT_PERIODS)}")


def period(name: str, overrides: dict | None = None):
    """The value of period ``name``, taking ``overrides[name]`` when given and not None.

    Every key of ``overrides`` must be a known period name, so that a misspelt contract term
    fails loudly instead of silently leaving the statutory default in force. Sequence values
    (``days_of_month``) come back as fresh lists.
    """
    if name not in DEFAULT_PERIODS:
        raise _unknown(name)
    overrides = overrides or {}
    for key in overrides:
        if key not in DEFAULT_PERIODS:
            raise _unknown(key)
    default = DEFAULT_PERIODS[name]
    value = overrides.get(name)
    if value is None:
        value = default.value
    value = _check_value(name, default.unit, value)
    return list(value) if isinstance(value, (list, tuple)) else value
