"""Forms and service handlers of the contract watch (合同期限, `bpmn/contract_watch.bpmn`).

One case per property service contract (`workflows.models.ServiceContract`) at a time. The
community starts it when it files the contract (the start form registers the contract row, or
updates the terms of one on file); the scheduler's contract hook (`workflows.schedules`) starts
it for contracts already on file when their renewal decision opens, naming only the contract. A
second watch of a contract that already has one ends at once, saying so. The case then follows
the contract's term under Civil Code Arts. 947-948.

The contract's `notice_days` is its own notice period where it departs from the law; Arts. 946
and 947 both yield to the contract ("合同另有约定的除外"), and a contract row has one such period,
so it applies to both: the owners' dismissal (instead of 60 days) and the provider's
non-renewal (instead of 90). Art. 948's 60 days for a contract without fixed term admit no
exception.

**Renewal (Art. 947).** Renewal is the owners' joint decision (Art. 278 item 4, 选聘和解聘物业
服务企业), taken before the term ends; a provider that will not renew must say so in writing 90
days before the end (or the contract's own period). The case therefore opens both sides in time
for that date: at 09:00 on `ends_on - non_renewal_notice_days - renewal_preparation_days`
(`workflows.rules.contract_terms.renewal_schedule`); the preparation margin (a configured
period, 30 days by default) leaves room to convene an owners' meeting with its 15 days' notice
before the 90-day date. Then, side by side:

- the owners' committee records the assembly's decision, renew / not renew / put out to tender,
  with its vote; a vote that fails Art. 278 is recorded and the owners may vote again. They have
  until the term ends (the task is due on the notice date, so the company learns in time);
- the company states, by the notice date, whether it agrees to renew. Silence by that date is
  taken as no notice of non-renewal: Art. 947 obliges only the provider that will not renew.

Outcomes:

- owners renew and the company has not refused: the community records the renewed term (a
  number of months from the old end date) and the watch starts over for the new term; a renewal
  not signed before the term ends counts as no decision;
- owners do not renew, or put the service out to tender, or the company refuses: the contract
  ends with its term. The case marks the contract `ending` and starts the exit
  (`start_dismissal_handover`, `mode = "exit"`, terminating on the last day of the term): there
  is no dismissal vote and no Art. 946 notice for a term that simply runs out, and nothing goes
  into the credit file for it. Choosing the successor and the handover happen there;
- no decision by the end of the term: the day after it, a provider still serving continues under
  a contract without fixed term (Art. 948). Art. 950 obliges it to keep serving until someone
  takes over anyway, so the continuation is recorded at once: the contract row's `ends_on`
  becomes None (the model's mark of a contract without fixed term), the old end date is kept in
  the case.

**Without fixed term (Art. 948).** Either side may end the contract at any time with 60 days'
written notice (no contract term changes that period). The community records what happens:

- the owners want to end it: that is a dismissal, decided by the assembly under Art. 278, so a
  dismissal case starts (`mode = "dismissal"`; its notice period is Art. 948's). The watch goes
  on, since the vote may fail; once the dismissal has ended the contract the community closes it;
- the company gives notice: the contract ends 60 days after the notice was served; the exit
  case starts with that date;
- the parties agree a new fixed term: recorded like a renewal, the watch starts over;
- the contract has ended by another case (e.g. a dismissal proposed after a rectification).

A contract ended by a dismissal case (status `ending` or `terminated`) is noticed at the watch's
next milestone, which then ends quietly. Filing errors (an unknown enterprise, a contract code
already filed for another compound or enterprise, a second watch for the same contract) end the
case at once with the reason, and nothing is registered.
"""
from datetime import date, timedelta
from decimal import Decimal

from marshmallow import ValidationError, fields, post_load, validate, validates_schema
from sqlalchemy import select

from engine.calendar import CHINA_TZ
from engine.handlers import HandlerFailed
from engine.models import Case, Organisation
from workflows.dismissal_handover import PROVIDER_MATTER, OwnerVoteFields, vote_data
from workflows.json_schema import (FormSchema, choice_field, date_field, integer_field,
                                   text_field, textarea_field)
from workflows.models import ServiceContract
from workflows.rules.contract_terms import add_months, renewal_schedule, termination_on
from workflows.rules.periods import period

PROCESS_ID = "contract_watch"

SERVICE_GRADES = {"1": "一级", "2": "二级", "3": "三级", "4": "四级", "5": "五级"}
OWNER_DECISIONS = {"renew": "续聘原物业服务企业", "not_renew": "不再续聘",
                   "tender": "通过招标另行选聘"}
COMPANY_INTENTS = {"agree": "同意续聘", "refuse": "不同意续聘（书面通知）"}
INDEFINITE_ACTIONS = {
    "owners_terminate": "业主拟依法共同决定解除（转入解聘程序）",
    "company_terminate": "物业服务企业书面通知解除",
    "new_term": "双方续订固定期限合同",
    "closed": "合同已终止（已另案办理退出移交）",
}
MAX_TERM_MONTHS = 120
MAX_NOTICE_DAYS = 365


def _fee_places(value):
    if value is not None and value.is_finite() and value != value.quantize(Decimal("0.01")):
        raise ValidationError("收费标准最多保留两位小数")


def fee_field(help=None):
    return fields.Decimal(
        required=False, allow_none=True, allow_nan=False,
        validate=[validate.Range(min=0, min_inclusive=False, max=100,
                                 error="必须大于 {min}，且不超过 {max}"), _fee_places],
        metadata={"label": "收费标准（元/平方米·月）", **({"help": help} if help else {})})


def _new_terms(data):
    """A renewal's terms: given ones replace the contract's, missing ones leave it as it is."""
    if data.get("new_fee_standard") is not None:
        data["new_fee_standard"] = str(data["new_fee_standard"])  # exact, as the contract says
    return _setdefaults(data, "new_service_grade", "new_fee_standard")


def _notice_days(label, help):
    return integer_field(label, help=help, required=False, minimum=1, maximum=MAX_NOTICE_DAYS,
                         strict=True)


def _term_months(required=True):
    return integer_field("合同期限（月）", required=required, minimum=1, maximum=MAX_TERM_MONTHS,
                         strict=True, help="自原合同期限届满次日起算")


def _setdefaults(data, *keys):
    for key in keys:
        data.setdefault(key, None)
    return data


class ContractStart(FormSchema):
    """登记物业服务合同，跟踪合同期限。"""

    form_title = "登记物业服务合同"
    title = text_field("案件标题", required=False, max_length=100, help="不填则按合同编号自动生成")
    contract_code = text_field("合同编号", max_length=64)
    enterprise_code = text_field("物业服务企业编码", required=False, max_length=64,
                                 help="新登记的合同必须填写；已登记的合同不填则沿用")
    starts_on = date_field("合同起始日期", required=False,
                           help="新登记的合同必须填写；已登记的合同不填则沿用")
    ends_on = date_field("合同期限届满日期", required=False,
                         help="合同约定的最后一日；不定期物业服务合同不填（已登记的合同不填则沿用）")
    service_grade = choice_field("服务等级", SERVICE_GRADES, required=False)
    fee_standard = fee_field()
    notice_days = _notice_days(
        "合同约定的通知期限（日）",
        f"合同对解聘或不续聘的书面通知期限另有约定的填写；不填则解聘为 {period('dismissal_notice_days')} 日"
        f"（《民法典》第九百四十六条），不续聘为 {period('non_renewal_notice_days')} 日（第九百四十七条）")
    opens_on = date_field("续聘决定开始日", required=False,
                          help="定期计划按合同期限发起时提供；登记合同时不填，由系统按合同计算")
    notice_on = date_field("不续聘通知截止日", required=False,
                           help="定期计划按合同期限发起时提供；登记合同时不填，由系统按合同计算")

    @validates_schema
    def term_in_order(self, data, **kwargs):
        if data.get("starts_on") and data.get("ends_on") and data["ends_on"] <= data["starts_on"]:
            raise ValidationError("合同期限届满日期必须晚于起始日期", "ends_on")

    @post_load
    def add_case_data(self, data, **kwargs):
        if not data.get("title"):
            data["title"] = f"合同期限：{data['contract_code']}"
        if data.get("fee_standard") is not None:
            data["fee_standard"] = str(data["fee_standard"])  # exact, as the contract says
        _setdefaults(data, "enterprise_code", "starts_on", "ends_on", "service_grade",
                     "fee_standard", "notice_days")
        # The periods the diagram's expressions read, kept with the case. The contract's own
        # notice period, where it has one, replaces Art. 947's default when the contract is
        # registered (handler `contract_watch_register`).
        data["non_renewal_notice_days"] = period("non_renewal_notice_days")
        data["renewal_preparation_days"] = period("renewal_preparation_days")
        data["indefinite_term_notice_days"] = period("indefinite_term_notice_days")
        data.update(renewal_round=0, renewal_decisions=[], outcome=None)
        return data


class RenewalMatter(FormSchema):
    """What the owners voted on (the decision form's first fields)."""

    decision = choice_field("表决事项", OWNER_DECISIONS,
                            help="续聘、不再续聘或招标另聘，均须业主依法共同决定（《民法典》第二百七十八条）")
    resolution_no = text_field("决定文号", required=False, max_length=60)


class OwnersDecision(OwnerVoteFields, RenewalMatter):
    """业主委员会记录业主大会关于续聘的共同决定。"""

    form_title = "记录业主共同决定（续聘）"

    @post_load
    def decide(self, data, **kwargs):
        vote = vote_data(data, PROVIDER_MATTER)
        vote["decision_label"] = OWNER_DECISIONS[vote["decision"]]
        vote.setdefault("resolution_no", None)
        # The owners' side of the parallel decision keeps all it says under its own two keys.
        return {"owners_decision": vote["decision"] if vote["vote_passed"] else "failed",
                "owners_vote": vote}


class CompanyIntent(FormSchema):
    """物业服务企业说明是否同意续聘（不同意的，应于期限届满前九十日书面通知）。"""

    form_title = "是否同意续聘"
    intent = choice_field("企业意见", COMPANY_INTENTS)
    notified_on = date_field("书面通知日期")
    statement = textarea_field("说明", required=False, max_length=2000)

    @post_load
    def wrap(self, data, **kwargs):
        data["intent_label"] = COMPANY_INTENTS[data["intent"]]
        data.setdefault("statement", None)
        # The company's side of the parallel decision keeps all it says under its own two keys.
        return {"company_intent": data["intent"], "company_statement": data}


class RecordRenewal(FormSchema):
    """记录续订的物业服务合同。"""

    form_title = "记录续订合同"
    signed_on = date_field("续订日期")
    term_months = _term_months()
    new_service_grade = choice_field("服务等级", SERVICE_GRADES, required=False,
                                     help="不填则沿用原合同")
    new_fee_standard = fee_field("不填则沿用原合同")
    renewal_note = textarea_field("说明", required=False, max_length=2000)

    @post_load
    def defaults(self, data, **kwargs):
        return _new_terms(_setdefaults(data, "renewal_note"))


class IndefiniteEvent(FormSchema):
    """不定期物业服务合同：记录解除通知或续订。"""

    form_title = "不定期合同：解除或续订"
    indefinite_action = choice_field("情况", INDEFINITE_ACTIONS)
    recorded_on = date_field("登记日期")
    notice_served_on = date_field("书面通知送达日期", required=False,
                                  help="物业服务企业书面通知解除的必须填写")
    termination_grounds = textarea_field("解除理由", required=False, max_length=3000)
    term_months = _term_months(required=False)
    new_service_grade = choice_field("续订后的服务等级", SERVICE_GRADES, required=False,
                                     help="续订固定期限合同时可填写；不填则沿用原合同")
    new_fee_standard = fee_field("续订固定期限合同时可填写；不填则沿用原合同")

    @validates_schema
    def details(self, data, **kwargs):
        action, errors = data.get("indefinite_action"), {}
        if action == "company_terminate" and not data.get("notice_served_on"):
            errors["notice_served_on"] = ["物业服务企业书面通知解除的，必须填写通知送达日期"]
        if action in ("owners_terminate", "company_terminate") and not data.get("termination_grounds"):
            errors["termination_grounds"] = ["解除合同的，必须写明理由"]
        if action == "new_term" and data.get("term_months") is None:
            errors["term_months"] = ["续订固定期限合同的，必须填写合同期限"]
        if errors:
            raise ValidationError(errors)

    @post_load
    def add_dates(self, data, **kwargs):
        _new_terms(_setdefaults(data, "notice_served_on", "termination_grounds", "term_months"))
        data["company_termination_on"] = None
        if data["indefinite_action"] == "closed":
            data["outcome"] = "closed"
        if data["indefinite_action"] == "company_terminate":
            # Art. 948: 60 days' written notice, whatever the contract says.
            data["company_termination_on"] = termination_on(
                data["notice_served_on"], period("indefinite_term_notice_days"))
        return data


FORMS = {
    "contract_watch.start": ContractStart,
    "contract_watch.owners_decide": OwnersDecision,
    "contract_watch.company_intent": CompanyIntent,
    "contract_watch.record_renewal": RecordRenewal,
    "contract_watch.indefinite_event": IndefiniteEvent,
}


# -- service handlers -------------------------------------------------------------------------

def _today(ctx):
    return ctx.now.astimezone(CHINA_TZ).date()


def _iso(value):
    return value.isoformat() if value is not None else None


def schedule_data(ends_on, notice_days, preparation_days):
    """The renewal milestones as case data, with the instants the diagram's timers read."""
    schedule = renewal_schedule(ends_on, notice_days, preparation_days)
    return {"ends_on": _iso(schedule.ends_on), "notice_on": _iso(schedule.notice_on),
            "renewal_opens_on": _iso(schedule.opens_on),
            "renewal_opens_at": f"{schedule.opens_on.isoformat()}T09:00:00+08:00",
            "notice_due_at": f"{schedule.notice_on.isoformat()}T23:59:59+08:00",
            "term_expires_on": _iso(schedule.expires_on),
            "term_expires_at": f"{schedule.expires_on.isoformat()}T00:00:00+08:00"}


def _refused(problem):
    return {"registered": False, "problem": problem}


def _other_watch(session, contract_code, case_id):
    return session.scalars(select(Case.id).where(
        Case.process_id == PROCESS_ID, Case.status == "running", Case.id != case_id,
        Case.data["contract_code"].as_string() == contract_code)).first()


def _date(value, label):
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise HandlerFailed(f"{label}不是有效的日期：{value!r}") from exc


def non_renewal_notice(contract):
    """Art. 947's 90 days, or the contract's own notice period (the one `notice_days` it has
    applies to both ways of ending it, dismissal and non-renewal: see the module docstring)."""
    return period("non_renewal_notice_days", {"non_renewal_notice_days": contract.notice_days})


def register_contract(ctx, contract_code, enterprise_code=None, starts_on=None, ends_on=None,
                      service_grade=None, fee_standard=None, notice_days=None,
                      preparation_days=None):
    """File the contract of the case's compound, or take up one already on file (terms given
    replace its terms, terms left out keep them), and plan its watch.

    Refuses (`registered: False`, `problem`) rather than fails, so the case can end with the
    reason and nothing written.
    """
    compound_code = ctx.case.compound
    if not compound_code:
        return _refused("登记物业服务合同必须选择小区")
    other = _other_watch(ctx.session, contract_code, ctx.case.id)
    if other is not None:
        return _refused(f"合同 {contract_code} 已有进行中的合同期限跟踪案件（{other}）")
    contract = ctx.session.get(ServiceContract, contract_code)
    if contract is not None:
        if contract.compound_code != compound_code or \
                (enterprise_code and contract.enterprise_code != enterprise_code):
            return _refused(f"合同编号 {contract_code} 已登记为其他小区或其他物业服务企业的合同")
        if contract.status != "active":
            return _refused(f"合同 {contract_code} 已终止或正在退出，不能再跟踪")
        enterprise_code = contract.enterprise_code
    elif not enterprise_code or not starts_on:
        return _refused(f"合同 {contract_code} 尚未登记：新登记的合同必须填写物业服务企业编码和合同起始日期")
    enterprise = ctx.session.get(Organisation, enterprise_code)
    if enterprise is None or enterprise.kind != "enterprise":
        return _refused(f"未找到物业服务企业 {enterprise_code}")
    new_starts = _date(starts_on, "合同起始日期") if starts_on is not None else contract.starts_on
    if contract is None or ends_on is not None:
        new_ends = _date(ends_on, "合同期限届满日期")
    else:
        new_ends = contract.ends_on
    if new_ends is not None and new_ends <= new_starts:
        return _refused(f"合同期限届满日期（{new_ends}）必须晚于起始日期（{new_starts}）")
    if contract is None:
        contract = ServiceContract(code=contract_code, compound_code=compound_code,
                                   enterprise_code=enterprise_code, status="active")
        ctx.session.add(contract)
    contract.starts_on, contract.ends_on = new_starts, new_ends
    if service_grade is not None:
        contract.service_grade = service_grade
    if fee_standard is not None:
        contract.fee_standard = Decimal(str(fee_standard))
    if notice_days is not None:
        contract.notice_days = notice_days
    ctx.session.flush()
    result = {"registered": True, "problem": None, "enterprise_code": enterprise.code,
              "enterprise_name": enterprise.name, "starts_on": _iso(contract.starts_on),
              "ends_on": _iso(contract.ends_on), "service_grade": contract.service_grade,
              "fee_standard": str(contract.fee_standard) if contract.fee_standard is not None else None,
              "notice_days": contract.notice_days,
              "non_renewal_notice_days": non_renewal_notice(contract), "term_state": "indefinite"}
    if contract.ends_on is not None:
        result.update(schedule_data(contract.ends_on, result["non_renewal_notice_days"],
                                    preparation_days))
        result["term_state"] = "expired" if contract.ends_on < _today(ctx) else "fixed"
    return result


def _contract(ctx, contract_code):
    contract = ctx.session.get(ServiceContract, contract_code)
    if contract is None:
        raise HandlerFailed(f"未找到物业服务合同 {contract_code}")
    return contract


def contract_status(ctx, contract_code):
    """The contract's status now (another case may have ended it since the last milestone)."""
    contract = _contract(ctx, contract_code)
    return {"status": contract.status, "ends_on": _iso(contract.ends_on)}


def renew_contract(ctx, contract_code, term_months, preparation_days, service_grade=None,
                   fee_standard=None):
    """A new fixed term of `term_months` from the day after the old one (or after today, for a
    contract without fixed term); returns the new term's renewal milestones."""
    contract = _contract(ctx, contract_code)
    if contract.status != "active":
        raise HandlerFailed(f"合同 {contract_code} 已终止或正在退出，不能续订")
    if isinstance(term_months, bool) or not isinstance(term_months, int) or term_months < 1:
        raise HandlerFailed("合同期限（月）必须是正整数")
    if contract.ends_on is not None:
        new_start = contract.ends_on + timedelta(days=1)
    else:
        new_start = _today(ctx)
    new_end = add_months(new_start, term_months) - timedelta(days=1)
    previous_end = contract.ends_on
    contract.ends_on = new_end
    if service_grade:
        contract.service_grade = service_grade
    if fee_standard is not None:
        contract.fee_standard = Decimal(str(fee_standard))
    ctx.session.flush()
    return {"previous_ends_on": _iso(previous_end), "renewed_from": _iso(new_start),
            "service_grade": contract.service_grade,
            "fee_standard": str(contract.fee_standard) if contract.fee_standard is not None else None,
            "non_renewal_notice_days": non_renewal_notice(contract),
            **schedule_data(new_end, non_renewal_notice(contract), preparation_days)}


def continue_indefinitely(ctx, contract_code):
    """Art. 948: the term is over, nobody renewed, the provider serves on: no fixed term now."""
    contract = _contract(ctx, contract_code)
    original = contract.ends_on
    since = original + timedelta(days=1) if original is not None else contract.starts_on
    contract.ends_on = None
    ctx.session.flush()
    return {"original_ends_on": _iso(original), "indefinite_since": _iso(since)}


def set_status(ctx, contract_code, status):
    """Mark the contract `ending` when its end is settled and the exit case starts."""
    if status != "ending":
        raise HandlerFailed(f"合同状态只能由合同期限跟踪改为 ending，收到：{status!r}")
    contract = _contract(ctx, contract_code)
    contract.status = status
    ctx.session.flush()
    return status


HANDLERS = {
    "contract_watch_register": register_contract,
    "contract_watch_status": contract_status,
    "contract_watch_renew": renew_contract,
    "contract_watch_indefinite": continue_indefinitely,
    "contract_watch_set_status": set_status,
}
