"""The contract watch (合同期限) walked through the service layer with the engine clock.

The contract runs from 1 January 2024 to 31 December 2026. Art. 947's 90 days before the end
fall on Friday 2 October 2026; the owners' decision and the company's statement open 30 days
earlier (the preparation margin), on Wednesday 2 September at 09:00; the term has expired at
00:00 on 1 January 2027.
"""
from datetime import date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from engine.calendar import CHINA_TZ
from engine.errors import Forbidden, ValidationFailed
from engine.models import Case
from workflows.models import CreditRecord, ServiceContract
from workflows.rules.periods import period

COMPOUND = "C0001"
CONTRACT = "HT-C0001-2024"
START_DATA = {"contract_code": CONTRACT, "enterprise_code": "E0001", "starts_on": "2024-01-01",
              "ends_on": "2026-12-31", "service_grade": "3", "fee_standard": 1.2}
VOTE = {"meeting_held_on": "2026-09-20", "total_area": "3000.00", "total_owners": 300,
        "voted_area": "2000.00", "voted_owners": 200, "yes_area": "1000.01", "yes_owners": 101}


def beijing(*args):
    return datetime(*args, tzinfo=CHINA_TZ)


def start(engine, clerk, data=None, compound=COMPOUND):
    return engine.start_case(clerk, "contract_watch", dict(START_DATA if data is None else data),
                             compound)


def contract_row(engine, code=CONTRACT):
    with engine.db.unit_of_work(write=False) as session:
        row = session.get(ServiceContract, code)
        return None if row is None else {
            "compound": row.compound_code, "enterprise": row.enterprise_code,
            "starts_on": row.starts_on, "ends_on": row.ends_on, "grade": row.service_grade,
            "fee": row.fee_standard, "notice_days": row.notice_days, "status": row.status}


def children(engine, case_id):
    with engine.db.unit_of_work(write=False) as session:
        cases = session.scalars(select(Case).where(Case.process_id == "dismissal_handover")).all()
        return [c for c in cases if c.data.get("parent_case_id") == case_id]


def open_decision(engine, clock):
    clock.set(beijing(2026, 9, 2, 9, 0))
    engine.tick()


def owners_decide(engine, inspect, owners, case, decision, **vote):
    return engine.complete_task(owners, inspect.task(case.id, "owners_decide").id,
                                dict(VOTE, decision=decision, **vote))


def company_says(engine, inspect, company, case, intent):
    return engine.complete_task(company, inspect.task(case.id, "company_intent").id, {
        "intent": intent, "notified_on": "2026-09-25",
        "statement": "同意按原标准续聘" if intent == "agree" else "因成本上升，不再续聘"})


# -- filing the contract ----------------------------------------------------------------------

def test_start_registers_the_contract_and_plans_the_renewal(engine, inspect, clerk):
    case = start(engine, clerk)
    assert case.status == "running" and case.title == f"合同期限：{CONTRACT}"
    assert contract_row(engine) == {
        "compound": COMPOUND, "enterprise": "E0001", "starts_on": date(2024, 1, 1),
        "ends_on": date(2026, 12, 31), "grade": "3", "fee": Decimal("1.20"), "notice_days": None,
        "status": "active"}
    data = inspect.case(case.id).data
    assert data["non_renewal_notice_days"] == period("non_renewal_notice_days") == 90
    assert data["renewal_preparation_days"] == period("renewal_preparation_days") == 30
    assert (data["notice_on"], data["renewal_opens_on"], data["term_expires_on"]) == (
        "2026-10-02", "2026-09-02", "2027-01-01")
    assert data["term_state"] == "fixed" and data["enterprise_name"] == "晋城市安居物业服务有限公司"
    assert inspect.timers(case.id) == [("wait_open", beijing(2026, 9, 2, 9, 0))]
    assert inspect.tasks(case.id) == []


def test_the_contracts_own_notice_period_moves_the_opening(engine, inspect, clerk):
    case = start(engine, clerk, dict(START_DATA, notice_days=60))
    data = inspect.case(case.id).data
    assert (data["non_renewal_notice_days"], data["notice_on"]) == (60, "2026-11-01")
    assert contract_row(engine)["notice_days"] == 60
    assert inspect.timers(case.id) == [("wait_open", beijing(2026, 10, 2, 9, 0))]


def test_the_scheduler_takes_up_a_contract_on_file(engine, inspect, clerk, owners, clock):
    """The contract hook names the contract when its decision opens: the terms come from the
    row, the decision opens at once."""
    with engine.db.unit_of_work() as session:
        session.add(ServiceContract(code="HT-C0001-2025", compound_code=COMPOUND,
                                    enterprise_code="E0001", starts_on=date(2025, 1, 1),
                                    ends_on=date(2026, 6, 30), service_grade="2",
                                    fee_standard=Decimal("1.80"), status="active"))
    clock.set(beijing(2026, 3, 2, 9, 0))  # 30 + 90 days before 30 June
    case = engine.start_case(clerk, "contract_watch", {
        "contract_code": "HT-C0001-2025", "ends_on": "2026-06-30", "notice_on": "2026-04-01",
        "opens_on": "2026-03-02", "enterprise_code": "E0001"}, COMPOUND)
    engine.tick()
    data = inspect.case(case.id).data
    assert (data["starts_on"], data["service_grade"], data["fee_standard"]) == (
        "2025-01-01", "2", "1.80")
    assert data["notice_on"] == "2026-04-01"
    assert inspect.ready_names(case.id) == ["company_intent", "owners_decide"]
    assert contract_row(engine, "HT-C0001-2025")["fee"] == Decimal("1.80")


def test_start_form_refuses_bad_terms_and_registers_nothing(engine, clerk):
    with pytest.raises(ValidationFailed) as refused:
        start(engine, clerk, dict(START_DATA, ends_on="2023-12-31", fee_standard=0,
                                  notice_days=0, service_grade="6"))
    assert refused.value.fields == {
        "service_grade": ["必须是以下之一：一级, 二级, 三级, 四级, 五级"],
        "fee_standard": ["必须大于 0，且不超过 100"], "notice_days": ["必须在 1 至 365 之间"]}
    with pytest.raises(ValidationFailed) as refused:
        start(engine, clerk, dict(START_DATA, ends_on="2023-12-31"))
    assert refused.value.fields == {"ends_on": ["合同期限届满日期必须晚于起始日期"]}
    with pytest.raises(ValidationFailed) as refused:
        start(engine, clerk, {"enterprise_code": "E0001", "starts_on": "2024-01-01",
                              "fee_standard": "1.234", "non_renewal_notice_days": 30})
    assert refused.value.fields == {"contract_code": ["此项为必填项"],
                                    "fee_standard": ["收费标准最多保留两位小数"],
                                    "non_renewal_notice_days": ["不是本表单的字段"]}
    with engine.db.unit_of_work(write=False) as session:
        assert session.query(Case).count() == 0
    assert contract_row(engine) is None


def test_filing_errors_end_the_case_with_the_reason(engine, inspect, clerk):
    unknown = start(engine, clerk, dict(START_DATA, enterprise_code="E9999"))
    assert unknown.status == "completed" and unknown.data["outcome"] == "registration_refused"
    assert unknown.data["registration_problem"] == "未找到物业服务企业 E9999"
    assert contract_row(engine) is None
    new = start(engine, clerk, {"contract_code": CONTRACT, "ends_on": "2026-12-31"})
    assert new.data["registration_problem"] == \
        f"合同 {CONTRACT} 尚未登记：新登记的合同必须填写物业服务企业编码和合同起始日期"
    assert contract_row(engine) is None

    first = start(engine, clerk)
    second = start(engine, clerk)
    assert second.status == "completed"
    assert second.data["registration_problem"] == f"合同 {CONTRACT} 已有进行中的合同期限跟踪案件（{first.id}）"
    with engine.db.unit_of_work() as session:
        session.add(ServiceContract(code="HT-C0002-2023", compound_code="C0002",
                                    enterprise_code="E0001", starts_on=date(2023, 1, 1),
                                    ends_on=date(2025, 12, 31), status="active"))
    other = start(engine, clerk, dict(START_DATA, contract_code="HT-C0002-2023"))
    assert other.data["registration_problem"] == \
        "合同编号 HT-C0002-2023 已登记为其他小区或其他物业服务企业的合同"
    assert contract_row(engine, "HT-C0002-2023")["compound"] == "C0002"
    # Terms that contradict the contract on file change nothing.
    with engine.db.unit_of_work() as session:
        session.add(ServiceContract(code="HT-C0001-2025", compound_code=COMPOUND,
                                    enterprise_code="E0001", starts_on=date(2025, 1, 1),
                                    ends_on=date(2026, 12, 31), status="active"))
    late = start(engine, clerk, {"contract_code": "HT-C0001-2025", "ends_on": "2024-06-30"})
    assert late.data["registration_problem"] == "合同期限届满日期（2024-06-30）必须晚于起始日期（2025-01-01）"
    assert contract_row(engine, "HT-C0001-2025")["ends_on"] == date(2026, 12, 31)
    assert inspect.kinds(second.id, "case_completed") == [None]


# -- the renewal decision (Art. 947) ------------------------------------------------------------------

def test_renewal_decided_in_time_starts_the_next_term(engine, inspect, clerk, owners, company,
                                                      clock):
    case = start(engine, clerk)
    clock.set(beijing(2026, 9, 2, 8, 59))
    assert engine.tick()[1] == []
    open_decision(engine, clock)
    decide, intent = inspect.task(case.id, "owners_decide"), inspect.task(case.id, "company_intent")
    assert decide.due_at == intent.due_at == beijing(2026, 10, 2, 23, 59, 59)
    assert decide.candidate_groups == ["owners", "clerk"] and decide.lane == "业主委员会"
    assert intent.candidate_groups == ["company"] and intent.lane == "物业服务企业"
    assert sorted(inspect.timers(case.id)) == [("company_silent", beijing(2026, 10, 2, 23, 59, 59)),
                                               ("owners_lapsed", beijing(2027, 1, 1, 0, 0))]
    with pytest.raises(Forbidden):
        owners_decide(engine, inspect, company, case, "renew")
    with pytest.raises(Forbidden):
        company_says(engine, inspect, owners, case, "agree")

    clock.set(beijing(2026, 9, 20, 16, 0))
    failed = owners_decide(engine, inspect, owners, case, "renew", yes_area="1000.00")  # exactly half
    assert inspect.ready_names(case.id) == ["company_intent", "owners_decide"]  # vote again
    assert inspect.task(case.id, "owners_decide").id != decide.id
    assert failed.status == "running"
    owners_decide(engine, inspect, owners, case, "renew")
    clock.set(beijing(2026, 9, 25, 10, 0))
    company_says(engine, inspect, company, case, "agree")

    renewal = inspect.task(case.id, "record_renewal")
    assert renewal.due_at == beijing(2026, 12, 31, 23, 59, 59)
    with pytest.raises(ValidationFailed) as refused:
        engine.complete_task(clerk, renewal.id, {"signed_on": "2026-10-10", "term_months": 0})
    assert refused.value.fields == {"term_months": ["必须在 1 至 120 之间"]}
    clock.set(beijing(2026, 10, 10, 10, 0))
    engine.complete_task(clerk, renewal.id, {"signed_on": "2026-10-10", "term_months": 36,
                                             "new_fee_standard": "1.50"})

    row = contract_row(engine)
    assert (row["ends_on"], row["fee"], row["grade"], row["status"]) == (
        date(2029, 12, 31), Decimal("1.50"), "3", "active")
    data = inspect.case(case.id).data
    assert data["renewal_round"] == 1 and data["ends_on"] == "2029-12-31"
    assert data["renewed_from"] == "2027-01-01" and data["fee_standard"] == "1.50"
    [decision] = data["renewal_decisions"]
    assert (decision["round"], decision["ends_on"], decision["owners_decision"],
            decision["company_intent"]) == (0, "2026-12-31", "renew", "agree")
    assert decision["owners_vote"]["yes_area"] == "1000.01"
    assert "owners_decision" not in data and "company_intent" not in data
    assert inspect.tasks(case.id) == []
    assert inspect.timers(case.id) == [("wait_open", beijing(2029, 9, 2, 9, 0))]
    assert case.status == "running" and children(engine, case.id) == []


def test_second_term_decided_afresh_when_the_company_will_not_renew(engine, inspect, clerk,
                                                                     owners, company, clock):
    """Round two must not see round one's answers: the company now refuses."""
    case = start(engine, clerk)
    open_decision(engine, clock)
    owners_decide(engine, inspect, owners, case, "renew")
    company_says(engine, inspect, company, case, "agree")
    engine.complete_task(clerk, inspect.task(case.id, "record_renewal").id,
                         {"signed_on": "2026-10-10", "term_months": 12})
    assert inspect.timers(case.id) == [("wait_open", beijing(2027, 9, 2, 9, 0))]
    clock.set(beijing(2027, 9, 2, 9, 0))
    engine.tick()
    clock.set(beijing(2027, 9, 10, 9, 0))
    company_says(engine, inspect, company, case, "refuse")
    assert inspect.ready_names(case.id) == ["owners_decide"]
    done = owners_decide(engine, inspect, owners, case, "renew", meeting_held_on="2027-09-20")

    assert done.status == "completed" and done.data["outcome"] == "exit_started"
    assert done.data["exit_reason"] == "company_non_renewal"
    assert [d["company_intent"] for d in done.data["renewal_decisions"]] == ["agree", "refuse"]
    [child] = children(engine, case.id)
    assert child.data["termination_on"] == "2027-12-31"


@pytest.mark.parametrize("decision, intent, reason", [
    ("not_renew", "agree", "not_renew"),
    ("tender", "agree", "tender"),
    ("renew", "refuse", "company_non_renewal"),
])
def test_non_renewal_starts_the_exit_case(engine, inspect, clerk, owners, company, clock,
                                          decision, intent, reason):
    case = start(engine, clerk)
    open_decision(engine, clock)
    clock.set(beijing(2026, 9, 20, 16, 0))
    owners_decide(engine, inspect, owners, case, decision)
    done = company_says(engine, inspect, company, case, intent)

    assert done.status == "completed" and done.data["outcome"] == "exit_started"
    assert contract_row(engine)["status"] == "ending"
    assert [e[3]["process_id"] for e in inspect.events(case.id) if e[0] == "case_linked"] == [
        "dismissal_handover"]
    [child] = children(engine, case.id)
    assert child.compound == COMPOUND and child.status == "running"
    assert child.title == f"合同终止退出移交：{CONTRACT}"
    assert (child.data["mode"], child.data["termination_on"], child.data["exit_reason"]) == (
        "exit", "2026-12-31", reason)
    assert (child.data["contract_code"], child.data["enterprise_code"]) == (CONTRACT, "E0001")
    # No dismissal vote for a term that simply ends: the owners choose the successor.
    successor = inspect.task(child.id, "choose_successor")
    assert successor.due_at == beijing(2026, 12, 31, 23, 59, 59)
    engine.complete_task(owners, successor.id, {
        "successor_type": "self_management", "decided_on": "2026-10-20",
        "receiver": "self_managing_owners"})
    assert inspect.timers(child.id) == [("wait_termination", beijing(2026, 12, 31, 0, 0))]
    clock.set(beijing(2026, 12, 31, 0, 0))
    engine.tick()
    assert inspect.task(child.id, "company_handover").due_at == beijing(2027, 1, 15, 23, 59, 59)
    with engine.db.unit_of_work(write=False) as session:
        assert session.query(CreditRecord).count() == 0  # an ending term is no credit event


# -- no decision: a contract without fixed term (Art. 948) ------------------------------------------

def test_no_decision_becomes_a_contract_without_fixed_term(engine, inspect, clerk, owners,
                                                           company, clock):
    case = start(engine, clerk)
    open_decision(engine, clock)
    clock.set(beijing(2026, 10, 3, 0, 0))
    engine.tick()  # no written notice of non-renewal by 2 October
    assert inspect.ready_names(case.id) == ["owners_decide"]
    clock.set(beijing(2026, 12, 31, 23, 59))
    engine.tick()
    assert contract_row(engine)["ends_on"] == date(2026, 12, 31)
    clock.set(beijing(2027, 1, 1, 0, 0))
    engine.tick()

    assert contract_row(engine)["ends_on"] is None and contract_row(engine)["status"] == "active"
    data = inspect.case(case.id).data
    assert (data["original_ends_on"], data["indefinite_since"]) == ("2026-12-31", "2027-01-01")
    assert data["renewal_decisions"][0]["owners_decision"] == "none"
    assert data["renewal_decisions"][0]["company_intent"] == "none"
    event = inspect.task(case.id, "indefinite_event")
    assert event.candidate_groups == ["clerk", "owners"]
    assert inspect.kinds(case.id, "timer_fired") == ["wait_open", "company_silent",
                                                     "owners_lapsed", "wait_expiry"]

    # The company ends it with Art. 948's 60 days' notice: the exit case starts with that date.
    with pytest.raises(ValidationFailed) as refused:
        engine.complete_task(clerk, event.id, {"indefinite_action": "company_terminate",
                                               "recorded_on": "2027-03-01"})
    assert refused.value.fields == {
        "notice_served_on": ["物业服务企业书面通知解除的，必须填写通知送达日期"],
        "termination_grounds": ["解除合同的，必须写明理由"]}
    clock.set(beijing(2027, 3, 1, 10, 0))
    done = engine.complete_task(clerk, event.id, {
        "indefinite_action": "company_terminate", "recorded_on": "2027-03-01",
        "notice_served_on": "2027-03-01", "termination_grounds": "企业经营调整，退出本项目。"})
    assert done.status == "completed" and done.data["outcome"] == "exit_started"
    [child] = children(engine, case.id)
    assert (child.data["mode"], child.data["termination_on"], child.data["exit_reason"]) == (
        "exit", "2027-04-30", "company_terminated")


def test_a_renewal_not_signed_before_the_end_lapses(engine, inspect, clerk, owners, company,
                                                    clock):
    case = start(engine, clerk)
    open_decision(engine, clock)
    owners_decide(engine, inspect, owners, case, "renew")
    company_says(engine, inspect, company, case, "agree")
    assert inspect.ready_names(case.id) == ["record_renewal"]
    clock.set(beijing(2027, 1, 1, 0, 0))
    engine.tick()
    assert inspect.ready_names(case.id) == ["indefinite_event"]
    assert contract_row(engine)["ends_on"] is None


def test_expired_term_at_filing_is_already_without_fixed_term(engine, inspect, clerk):
    case = start(engine, clerk, dict(START_DATA, ends_on="2026-01-31"))
    data = inspect.case(case.id).data
    assert data["term_state"] == "expired"
    assert (data["original_ends_on"], data["indefinite_since"]) == ("2026-01-31", "2026-02-01")
    assert inspect.ready_names(case.id) == ["indefinite_event"]
    assert contract_row(engine)["ends_on"] is None


def test_owners_end_a_contract_without_fixed_term_by_dismissal(engine, inspect, clerk, owners,
                                                               clock):
    case = start(engine, clerk, dict(START_DATA, ends_on=None))
    assert inspect.case(case.id).data["term_state"] == "indefinite"
    assert inspect.timers(case.id) == []
    event = inspect.task(case.id, "indefinite_event")
    engine.complete_task(owners, event.id, {
        "indefinite_action": "owners_terminate", "recorded_on": "2026-03-02",
        "termination_grounds": "服务质量持续下降，业主委员会提议解除。"})
    # The watch goes on (the vote may fail); the dismissal case convenes the owners.
    assert inspect.case(case.id).status == "running"
    assert inspect.ready_names(case.id) == ["indefinite_event"]
    [child] = children(engine, case.id)
    assert child.title == f"解除不定期物业服务合同：{CONTRACT}"
    assert child.data["dismissal_grounds"] == "服务质量持续下降，业主委员会提议解除。"
    convene = inspect.task(child.id, "convene_meeting")
    engine.complete_task(owners, convene.id, {
        "notice_on": "2026-03-02", "meeting_at": "2026-03-17T09:30", "meeting_form": "written"})
    assert inspect.case(child.id).data["dismissal_notice_basis"] == \
        "《民法典》第九百四十八条（不定期物业服务合同）"
    done = engine.complete_task(clerk, inspect.task(case.id, "indefinite_event").id, {
        "indefinite_action": "closed", "recorded_on": "2026-06-01"})
    assert done.status == "completed" and done.data["outcome"] == "closed"


def test_a_new_fixed_term_from_without_fixed_term(engine, inspect, clerk, clock):
    case = start(engine, clerk, dict(START_DATA, ends_on=None))
    clock.set(beijing(2026, 3, 10, 10, 0))
    engine.complete_task(clerk, inspect.task(case.id, "indefinite_event").id, {
        "indefinite_action": "new_term", "recorded_on": "2026-03-10", "term_months": 24,
        "new_service_grade": "2"})
    row = contract_row(engine)
    assert (row["ends_on"], row["grade"]) == (date(2028, 3, 9), "2")
    assert inspect.timers(case.id) == [("wait_open", beijing(2027, 11, 10, 9, 0))]


def test_a_contract_ended_elsewhere_closes_the_watch(engine, inspect, clerk, clock):
    case = start(engine, clerk)
    with engine.db.unit_of_work() as session:
        session.get(ServiceContract, CONTRACT).status = "terminated"  # e.g. by a dismissal case
    open_decision(engine, clock)
    done = inspect.case(case.id)
    assert done.status == "completed" and done.data["outcome"] == "closed"
    assert inspect.tasks(case.id) == []


def test_diagram_draws_completely(diagram_problems):
    assert diagram_problems("contract_watch.bpmn") == []
