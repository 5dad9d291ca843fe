"""Recurring cases of the linkage mechanism: start data per process, contract dates, defaults.

The engine's scheduler (`engine.schedules`) knows when a schedule falls due; what a case of one
of our processes starts with, and which dates come from contracts rather than the calendar, is
domain knowledge and lives here:

- joint meetings (联席会议): regularly, by default each quarter, per community, convened a few
  working days after the quarter begins;
- periodic reports (报告): before the report days of each month (3rd and 18th in Shanxi), per
  community and per street, started a few working days ahead;
- contract watches (合同期限监督): one per fixed-term service contract, opening when the owners'
  renewal decision must start (Civil Code Art. 947: the 90-day non-renewal notice, plus the
  preparation period), from `service_contracts.ends_on` through the `contract_end` hook.

`DEFAULT_SCHEDULES` are created by `linkage init` once; after that they are data an
administrator changes with `linkage schedules`.
"""
from datetime import date, datetime, time

from sqlalchemy import select

from engine.calendar import CHINA_TZ, add_working_days
from engine.schedules import HookTarget
from workflows.rules.contract_terms import renewal_schedule
from workflows.rules.periods import period

JOINT_MEETING_AGENDA = ["通报本季度小区物业服务情况", "协调解决物业管理中的突出问题",
                        "跟进上次会议决议落实情况"]


def _quarter(day):
    return (day.month - 1) // 3 + 1


def joint_meeting_start(occurrence):
    """A regular meeting of the quarter, `meeting_after_working_days` after the case starts."""
    params = occurrence.params
    start_day = occurrence.start_at.astimezone(CHINA_TZ).date()
    meeting_day = add_working_days(start_day, int(params.get("meeting_after_working_days", 10)))
    hour, _, minute = str(params.get("meeting_time", "09:30")).partition(":")
    meeting_at = datetime.combine(meeting_day, time(int(hour), int(minute or 0)), CHINA_TZ)
    where = occurrence.org_name or "社区"
    target = occurrence.target
    return {
        "title": f"{where}{target.year}年第{_quarter(target)}季度三方联席会议",
        "meeting_type": "regular",
        "meeting_at": meeting_at.isoformat(),
        "location": occurrence.org_attributes.get("meeting_location")
        or params.get("location") or f"{where}会议室",
        "agenda": list(params.get("agenda") or JOINT_MEETING_AGENDA),
    }


def periodic_report_start(occurrence):
    """The report due on the target day (a report day of the month)."""
    data = {"due_on": occurrence.target.isoformat()}
    if occurrence.params.get("report_days"):
        data["report_days"] = list(occurrence.params["report_days"])
    return data


def contract_watch_start(occurrence):
    """The contract whose renewal decision opens now, with its milestones."""
    return {key: occurrence.detail[key]
            for key in ("contract_code", "ends_on", "notice_on", "opens_on", "enterprise_code")
            if key in occurrence.detail}


def contract_end_dates(session, schedule, first, last):
    """Contract watches whose opening day lies in [first, last], from the service contracts.

    A contract already watched by a running case (registered by hand, or started earlier) is
    left to that case."""
    from engine.models import Case
    from workflows.models import ServiceContract
    notice_default = period("non_renewal_notice_days")
    preparation = int(schedule.params.get("preparation_days", period("renewal_preparation_days")))
    longest = max(notice_default, int(schedule.params.get("longest_notice_days", 365))) + preparation
    query = select(ServiceContract).where(
        ServiceContract.status == "active", ServiceContract.ends_on.is_not(None),
        ServiceContract.ends_on >= first, ServiceContract.ends_on <= date.fromordinal(
            last.toordinal() + longest))
    contracts = session.scalars(query.order_by(ServiceContract.ends_on, ServiceContract.code)).all()
    watched = {(compound, (data or {}).get("contract_code")) for compound, data in session.execute(
        select(Case.compound, Case.data).where(
            Case.process_id == "contract_watch", Case.status == "running",
            Case.compound.in_({c.compound_code for c in contracts})))} if contracts else set()
    for contract in contracts:
        if (contract.compound_code, contract.code) in watched:
            continue
        milestones = renewal_schedule(contract.ends_on, contract.notice_days or notice_default,
                                      preparation)
        if first <= milestones.opens_on <= last:
            yield HookTarget(target=milestones.opens_on, org_code=contract.compound_code,
                             key=f"contract:{contract.code}:{contract.ends_on.isoformat()}",
                             detail={"contract_code": contract.code,
                                     "enterprise_code": contract.enterprise_code,
                                     **milestones.as_data()})


def register_schedules(hooks):
    """Give the engine's scheduler our start-data builders and the contract date hook."""
    hooks.builder("joint_meeting", joint_meeting_start)
    hooks.builder("periodic_report", periodic_report_start)
    hooks.builder("contract_watch", contract_watch_start)
    hooks.hook("contract_end", contract_end_dates)


def _report_rule():
    days = ",".join(str(d) for d in period("report_days_of_month"))
    return f"FREQ=MONTHLY;BYMONTHDAY={days}"


def default_schedules():
    """The schedules `linkage init` creates on a new installation (field values by name)."""
    return [
        {"name": "社区三方联席会议（每季度）", "process_id": "joint_meeting", "per_kind": "community",
         "rule": "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1", "lead_working_days": 0, "hour": 9,
         "params": {"meeting_after_working_days": 10, "meeting_time": "09:30"}},
        {"name": "社区向街道报告工作进展（每月报告日前）", "process_id": "periodic_report",
         "per_kind": "community", "rule": _report_rule(), "lead_working_days": 3, "hour": 9,
         "params": {}},
        {"name": "街道向住建部门报告工作进展（每月报告日前）", "process_id": "periodic_report",
         "per_kind": "street", "rule": _report_rule(), "lead_working_days": 3, "hour": 9,
         "params": {}},
        {"name": "物业服务合同期限监督（续聘决定开始日）", "process_id": "contract_watch",
         "per_kind": None, "rule": "hook:contract_end", "lead_working_days": 0, "hour": 9,
         "params": {}},
    ]
