"""Start data for demo cases of the bundled processes.

`DEMO_START_DATA` maps a process id to its start form data, or to a function returning it when
the data depends on the day the demo is loaded (a meeting is always convened for next week).
"""
from datetime import datetime, time, timedelta

from engine.calendar import CHINA_TZ


def _next_week_meeting():
    day = datetime.now(CHINA_TZ).date() + timedelta(days=7)
    return {
        "meeting_type": "regular",
        "meeting_at": datetime.combine(day, time(9, 30), CHINA_TZ).isoformat(),
        "location": "凤台社区党群服务中心二楼会议室",
        "agenda": ["通报本季度物业服务质量评议情况", "研究凤台花园3号楼电梯维修方案",
                   "协调地下车库停车秩序管理"],
    }


def _problem_reported_today():
    return {
        "problem_description": "凤台花园3号楼地下车库雨后积水严重，车辆无法进出，已持续两周。",
        "category": "facilities", "location": "3号楼地下车库东区", "reporter_party": "owners",
        "reporter_name": "业主委员会 王建国",
        "reported_on": datetime.now(CHINA_TZ).date().isoformat(),
    }


def _last_quarter_income_notice():
    today = datetime.now(CHINA_TZ).date()
    quarter_start = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
    last_end = quarter_start - timedelta(days=1)
    last_start = last_end.replace(month=(last_end.month - 1) // 3 * 3 + 1, day=1)
    return {
        "title": f"凤台花园{last_start.year}年第{(last_start.month - 1) // 3 + 1}季度公共收益收支情况公示",
        "kind": "fund_usage", "basis": "《民法典》第九百四十三条",
        "content": "一、电梯广告收入12,000元；二、停车场地收入8,600元；三、支出：公共照明维修3,200元；"
                   "结余17,400元，存入业主共有资金账户。",
        "covers_from": last_start.isoformat(), "covers_to": last_end.isoformat(),
    }


def _last_year_evaluation():
    year = datetime.now(CHINA_TZ).year - 1
    return {"evaluation_year": year, "enterprise_code": "E0001", "service_grade_contracted": "4",
            "reference": f"城区住建〔{year + 1}〕评议1号"}


def _contract_due_for_renewal():
    """A three-year contract ending in 110 days: the renewal decision opened ten days ago."""
    ends_on = datetime.now(CHINA_TZ).date() + timedelta(days=110)
    return {"contract_code": "HT-C0001-FT", "enterprise_code": "E0001",
            "starts_on": (ends_on - timedelta(days=3 * 365)).isoformat(),
            "ends_on": ends_on.isoformat(), "service_grade": "3", "fee_standard": "1.20"}


def _dismissal_meeting_called():
    """The owners' committee announced today an assembly on dismissal, 16 days ahead."""
    today = datetime.now(CHINA_TZ).date()
    return {"initiated_by": "owners_committee",
            "dismissal_grounds": "物业服务企业对电梯困人、车库照明等问题拒不整改，整改期限届满仍未到位，业主投诉强烈。",
            "notice_on": today.isoformat(),
            "meeting_at": datetime.combine(today + timedelta(days=16), time(9, 30), CHINA_TZ).isoformat(),
            "meeting_form": "collective", "meeting_location": "凤台花园会所二楼"}


DEMO_START_DATA = {
    "problem_coordination": _problem_reported_today,
    "publicity": _last_quarter_income_notice,
    "rectification": {
        "problem_description": "凤台花园3号楼电梯近一个月困人两次，地下车库东区照明大面积损坏，业主投诉强烈。",
        "source": "complaint",
        "source_reference": "12345-2026-0312",
    },
    "joint_meeting": _next_week_meeting,
    "evaluation": _last_year_evaluation,
    "periodic_report": {},  # the next report day; a compound's case is its community's report
    "contract_watch": _contract_due_for_renewal,
    "dismissal_handover": _dismissal_meeting_called,
}


def start_data(process_id):
    data = DEMO_START_DATA.get(process_id, {})
    return dict(data() if callable(data) else data)


# -- cases in believable states ---------------------------------------------------------------
# Each scenario starts a case and completes its first steps as the demo user of each role, so
# `linkage demo` shows work at several stages: an inbox with something for every role, a board
# with work at the street, timelines with history. A step is (task id, role, data or function).

def _today():
    return datetime.now(CHINA_TZ).date().isoformat()


_ORDER = {"order_no": "凤台社区整改〔2026〕3号",
          "requirements": "一、10个工作日内完成3号楼电梯全面检修并取得检验合格证明；二、修复地下车库东区照明。"}


def _report_submitted():
    return {"report": "已委托维保单位更换3号楼电梯曳引机钢丝绳并通过检验；车库照明已全部更换为LED灯具。",
            "completed_on": _today()}


def _garage_lighting_rectification():
    return {"problem_description": "凤台花园地下车库西区消防通道被杂物占用，应急照明失效。",
            "source": "inspection", "source_reference": "城区巡查-2026-041"}


def _escalated_to_street():
    return {"community_result": "escalate",
            "community_measures": "两次约谈物业服务企业，企业以排水泵更换费用需业主分摊为由拖延。",
            "community_escalation_reason": "涉及专项维修资金使用，社区无法协调，需街道牵头。"}


def _approved():
    return {"review_result": "approved", "review_opinion": "同意公示。"}


def _posted():
    return {"channels": ["bulletin_board", "owners_group"], "locations": "小区东门公告栏、各楼栋单元出入口"}


def _scored():
    return {"basic_score": 85, "facilities_score": 80, "satisfaction_score": 80,
            "survey_respondents": 120, "scored_on": _today(),
            "findings": "3号楼电梯一个月内困人两次；地下车库照明大面积损坏；满意度调查中保洁得分偏低。",
            "scorers": "凤台社区 张专干、业委会 赵主任"}


DEMO_SCENARIOS = {
    "rectification": [
        ("clerk", DEMO_START_DATA["rectification"], []),
        ("clerk", _garage_lighting_rectification, [("issue_order", "clerk", _ORDER)]),
        ("clerk", DEMO_START_DATA["rectification"], [("issue_order", "clerk", _ORDER),
                                                     ("submit_report", "company", _report_submitted)]),
    ],
    "joint_meeting": [
        ("clerk", _next_week_meeting, []),
        ("clerk", _next_week_meeting, [("send_notice", "clerk", lambda: {
            "notified_on": _today(), "notice_method": "written",
            "notified_parties": ["residents_committee", "owners_committee", "company", "street"],
            "notice_content": "定于下周召开三方联席会议，请准时参加。"})]),
    ],
    "problem_coordination": [
        ("owners", _problem_reported_today, []),
        ("clerk", _problem_reported_today, [("community_handle", "clerk", _escalated_to_street)]),
    ],
    "publicity": [
        ("clerk", _last_quarter_income_notice, []),
        ("clerk", _last_quarter_income_notice, [("street_review", "street", _approved),
                                                ("post_notice", "clerk", _posted)]),
    ],
    "evaluation": [
        ("clerk", _last_year_evaluation, []),
        ("clerk", _last_year_evaluation, [("score_project", "clerk", _scored)]),
    ],
    "periodic_report": [("clerk", {}, [])],
    "contract_watch": [("clerk", _contract_due_for_renewal, [])],
    "dismissal_handover": [("owners", _dismissal_meeting_called, [])],
}


def scenarios(process_id):
    """(starting role, start data, [(task id, role, data)]) for each demo case of a process,
    with the data built now (dates relative to the day the demo is loaded)."""
    built = []
    for role, start, steps in DEMO_SCENARIOS.get(process_id, [("clerk", DEMO_START_DATA.get(process_id, {}), [])]):
        built.append((role, _build(start), [(task, who, _build(data)) for task, who, data in steps]))
    return built


def _build(data):
    return dict(data() if callable(data) else data)
