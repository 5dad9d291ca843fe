"""Forms and service handlers of the dismissal and handover process (解聘与退出移交,
`bpmn/dismissal_handover.bpmn`).

Two ways into one exit:

- **Dismissal** (`mode = "dismissal"`, Civil Code Arts. 278, 946): the owners' assembly is
  convened with 15 days' notice (物业管理条例 Art. 14) and decides under Art. 278 item 4
  (选聘和解聘物业服务企业或者其他管理人): two thirds of the area and of the owners take part, more
  than half of both agree (`workflows.rules.owner_vote`). A failed vote ends the case as failed.
  A passed vote is notified to the company in writing 60 days ahead (Art. 946), or the period
  the contract sets (`ServiceContract.notice_days`); a contract without fixed term is ended with
  the 60 days of Art. 948, which no contract term shortens. The dismissal enters the
  enterprise's credit file when the notice is served.
- **Exit without dismissal** (`mode = "exit"`): the contract ends at the end of its term without
  renewal (Art. 947) or by the company's notice (Art. 948). Nobody votes to dismiss here: the
  owners' decision, where there was one, was taken in the contract's watch case, which starts
  this one with the day the contract ends. Nothing enters the credit file for the ending itself.

Then the owners choose a new provider or self-management, and on the termination day the exit
starts, with two branches side by side:

- the exit and handover of Art. 949: the company states that it hands over (reporting the state
  of the property) or refuses; the receiving side confirms the checklist item by item, over as
  many submissions as it takes (`workflows.rules.handover`). A refusal, or an exit period that
  runs out before every item is confirmed, goes to the housing bureau, which orders the handover
  within a number of working days; a company that still refuses is dealt with by the bureau.
  Refusals and the completed handover enter the credit file;
- the continued service of Art. 950: until the handover closes, the community confirms every
  period that the old provider still serves (it may charge for that time; a provider that
  refuses to leave may not, Art. 949 para. 2: the outcome says so).

When the handover branch closes it throws the internal message `handover_closed`, which ends the
service branch wherever it waits; the two join and the outcome is recorded.

Starting. A none start with the start form below (owners' committee or community), and the
message start `start_dismissal_handover` for other processes: the street's proposal at the end
of a rectification, the contract watch on non-renewal or on the notice ending a contract without
fixed term. The message's payload must hold `mode`, `title`, `contract_code` and
`enterprise_code` (either may be None), `initiated_by`, `dismissal_grounds`, and for an exit
`termination_on` and `exit_reason`. A case started by message skips the start form, so every
period enters with the form of the stage that uses it: the meeting notice period with the start
form or the convening form, the dismissal notice period from the contract (handler
`dismissal_handover_parties`, over the statutory default of `workflows.rules.periods`), the exit
and service-check periods with the successor form, which every path passes, and the bureau's
order period (working days) with the bureau's order form, which shows it as its default.

When the case cannot tell which contract or enterprise it is about (a compound without a
contract on file, a code that does not exist), the community is asked to name them instead of
the case failing.
"""
from decimal import Decimal

from marshmallow import ValidationError, fields, post_load, validate, validates_schema
from sqlalchemy import select

from engine.calendar import CHINA_TZ
from engine.handlers import HandlerFailed
from engine.models import Organisation
from workflows.json_schema import (FormSchema, boolean_field, checklist_field, choice_field,
                                   date_field, datetime_field, integer_field, text_field,
                                   textarea_field)
from workflows.models import CREDIT_KINDS, CreditRecord, ServiceContract
from workflows.rules import owner_vote
from workflows.rules.contract_terms import earliest_meeting_on
from workflows.rules.handover import HANDOVER_ITEMS, RECEIVERS, checklist, merge_confirmed, outstanding
from workflows.rules.owner_vote import MATTERS
from workflows.rules.periods import period

PROCESS_ID = "dismissal_handover"
PROVIDER_MATTER = 4  # Art. 278 (4): 选聘和解聘物业服务企业或者其他管理人 (hiring, renewing, dismissing)

MODES = {"dismissal": "业主依法解聘", "exit": "合同终止退出"}
INITIATORS = {"owners_committee": "业主委员会（物业管理委员会）", "owners": "百分之二十以上业主提议",
              "street": "街道（乡镇）引导", "community": "社区居（村）民委员会"}
MEETING_FORMS = {"collective": "集体讨论", "written": "书面征求意见"}
DELIVERY_METHODS = {"direct": "直接送达并签收", "mail": "邮寄送达", "notarized": "公证送达",
                    "posted": "留置送达并公告"}
SUCCESSOR_TYPES = {"new_enterprise": "选聘新物业服务企业", "self_management": "业主自行管理",
                   "community_trust": "社区托管（街道、社区兜底管理）"}
COMPANY_ACTIONS = {"hand_over": "按期退出并移交", "refuse": "拒绝退出或拒绝移交"}
ENFORCEMENT_MEASURES = {"penalty": "依法予以行政处罚", "public_notice": "通报并向社会公示",
                        "legal_action": "支持业主依法提起诉讼", "transfer": "移送有关部门处理",
                        "interview": "约谈企业负责人"}
#: The kinds of credit record this process writes (workflows.models.CREDIT_KINDS).
CREDIT_RECORD_KINDS = ("dismissal", "refused_handover", "handover_completed")

MAX_WORKING_DAYS = 250  # about a year of working days: a bound on input, not a period


def _beijing(value):
    return value.replace(tzinfo=CHINA_TZ) if value.tzinfo is None else value.astimezone(CHINA_TZ)


def _code(label, help=None):
    return text_field(label, required=False, max_length=64, help=help)


def _drop_empty(data, *keys):
    """Optional fields left empty must not overwrite what the case already knows."""
    for key in keys:
        if data.get(key) in (None, ""):
            data.pop(key, None)
    return data


# -- the owners' meeting ------------------------------------------------------------------------

class MeetingFields(FormSchema):
    """When and how the owners' assembly meets; the notice must come 15 days before."""

    notice_on = date_field("会议通知发出日期", help="书面通知全体业主并在小区显著位置公告之日")
    meeting_at = datetime_field(
        "会议召开时间", help=f"不带时区的时间按北京时间理解；应在通知发出"
        f" {period('owners_meeting_notice_days')} 日以后（《物业管理条例》第十四条）")
    meeting_form = choice_field("会议形式", MEETING_FORMS,
                                help="业主大会会议可以采用集体讨论的形式，也可以采用书面征求意见的形式")
    meeting_location = text_field("会议地点", required=False, max_length=200,
                                  help="集体讨论的必须填写；书面征求意见的可填写意见收集地点")

    @validates_schema
    def notice_ahead(self, data, **kwargs):
        errors = {}
        notice_on, meeting_at = data.get("notice_on"), data.get("meeting_at")
        if notice_on and meeting_at:
            days = period("owners_meeting_notice_days")
            earliest = earliest_meeting_on(notice_on, days)
            if _beijing(meeting_at).date() < earliest:
                errors["meeting_at"] = [
                    f"业主大会会议应当于召开{days}日以前通知全体业主（《物业管理条例》第十四条）："
                    f"通知于{notice_on.isoformat()}发出，会议最早于{earliest.isoformat()}召开"]
        if data.get("meeting_form") == "collective" and not data.get("meeting_location"):
            errors["meeting_location"] = ["集体讨论形式的会议必须填写会议地点"]
        if errors:
            raise ValidationError(errors)

    @staticmethod
    def meeting_data(data):
        """The meeting as case data (called by each form's own `post_load`, whose order among
        several processors marshmallow does not fix)."""
        data["meeting_at"] = _beijing(data["meeting_at"])
        data["meeting_on"] = data["meeting_at"].date()
        data["meeting_form_label"] = MEETING_FORMS[data["meeting_form"]]
        data["owners_meeting_notice_days"] = period("owners_meeting_notice_days")
        return data


class DismissalProposal(FormSchema):
    """Who proposes the dismissal, why, and of which contract (the start form's first fields)."""

    title = text_field("案件标题", required=False, max_length=100, help="不填则自动生成")
    initiated_by = choice_field("提议方", INITIATORS)
    dismissal_grounds = textarea_field(
        "解聘理由", max_length=3000, help="如拒不整改、不履行合同约定、业主投诉强烈等，写明事实")
    contract_code = _code("物业服务合同编号", "不填则按小区在管的物业服务合同确定")
    enterprise_code = _code("物业服务企业编码", "不填则按物业服务合同或小区登记的物业服务企业确定")


class DismissalStart(MeetingFields, DismissalProposal):
    """业主委员会（或社区）发起解聘：解聘理由和业主大会会议的召集。"""

    form_title = "发起解聘物业服务企业"

    @post_load
    def add_case_data(self, data, **kwargs):
        self.meeting_data(data)
        if not data.get("title"):
            data["title"] = f"解聘物业服务企业（业主大会 {data['meeting_on'].isoformat()}）"
        data["contract_code"] = data.get("contract_code") or None
        data["enterprise_code"] = data.get("enterprise_code") or None
        # What a message start's payload carries for itself (see the module docstring).
        data.update(mode="dismissal", mode_label=MODES["dismissal"], termination_on=None,
                    exit_reason="dismissed", outcome=None)
        return data


class ConveneMeeting(MeetingFields):
    """召集业主大会会议（由其他流程转来的解聘建议）。"""

    form_title = "召集业主大会会议"
    dismissal_grounds = textarea_field("解聘理由", required=False, max_length=3000,
                                       help="不填则沿用转办时的解聘理由")

    @post_load
    def keep_grounds(self, data, **kwargs):
        self.meeting_data(data)
        return _drop_empty(data, "dismissal_grounds")


class NameParties(FormSchema):
    """社区核实本案涉及的物业服务合同和物业服务企业。"""

    form_title = "核实物业服务合同和企业"
    contract_code = _code("物业服务合同编号", "已登记的物业服务合同编号；与企业编码至少填写一项")
    enterprise_code = _code("物业服务企业编码", "在管的物业服务企业的组织编码")
    note = textarea_field("说明", required=False, max_length=1000)

    @validates_schema
    def one_of_them(self, data, **kwargs):
        if not data.get("contract_code") and not data.get("enterprise_code"):
            raise ValidationError("物业服务合同编号和物业服务企业编码至少填写一项", "enterprise_code")

    @post_load
    def both_keys(self, data, **kwargs):
        data["contract_code"] = data.get("contract_code") or None
        data["enterprise_code"] = data.get("enterprise_code") or None
        return data


# -- the vote (Art. 278), shared with the contract watch ----------------------------------------

def _two_places(value):
    if value is not None and value.is_finite() and value != value.quantize(Decimal("0.01")):
        raise ValidationError("面积最多保留两位小数")


def area_field(label, help=None):
    """Square metres, exact (Decimal): 2000.01 must stay 2000.01 at the Art. 278 boundary."""
    return fields.Decimal(
        required=True, allow_nan=False,
        validate=[validate.Range(min=0, max=Decimal("100000000"), error="必须在 {min} 至 {max} 之间"),
                  _two_places],
        metadata={"label": label, **({"help": help} if help else {})})


def owners_field(label, help=None):
    return integer_field(label, help=help, minimum=0, maximum=1000000, strict=True)


class OwnerVoteFields(FormSchema):
    """The figures of an Art. 278 vote, checked for consistency; `vote_data` decides it."""

    meeting_held_on = date_field("表决日期", help="集体讨论的为会议召开日；书面征求意见的为计票日")
    total_area = area_field("专有部分总面积（平方米）", "本小区（物业管理区域）全部专有部分面积")
    total_owners = owners_field("业主总人数")
    voted_area = area_field("参与表决的专有部分面积（平方米）")
    voted_owners = owners_field("参与表决的业主人数")
    yes_area = area_field("同意的专有部分面积（平方米）")
    yes_owners = owners_field("同意的业主人数")

    @validates_schema
    def figures_consistent(self, data, **kwargs):
        errors = {}

        def check(part, whole, key, message):
            if data.get(part) is not None and data.get(whole) is not None \
                    and data[part] > data[whole]:
                errors[key] = [message.format(part=data[part], whole=data[whole])]

        if data.get("total_area") is not None and data["total_area"] <= 0:
            errors["total_area"] = ["专有部分总面积必须大于零"]
        if data.get("total_owners") is not None and data["total_owners"] <= 0:
            errors["total_owners"] = ["业主总人数必须大于零"]
        check("voted_area", "total_area", "voted_area", "参与表决的面积（{part}）不能超过总面积（{whole}）")
        check("voted_owners", "total_owners", "voted_owners",
              "参与表决的人数（{part}）不能超过业主总人数（{whole}）")
        check("yes_area", "voted_area", "yes_area", "同意的面积（{part}）不能超过参与表决的面积（{whole}）")
        check("yes_owners", "voted_owners", "yes_owners",
              "同意的人数（{part}）不能超过参与表决的人数（{whole}）")
        if errors:
            raise ValidationError(errors)


def vote_data(data, matter):
    """Decide the vote of `data` (an `OwnerVoteFields` load) and record it as case data.

    Areas go into the case as strings, exactly as counted: case data is JSON, and a float would
    not keep 2000.01.
    """
    result = owner_vote(matter, data["total_area"], data["total_owners"], data["voted_area"],
                        data["voted_owners"], data["yes_area"], data["yes_owners"])
    for key in ("total_area", "voted_area", "yes_area"):
        data[key] = str(data[key])
    data.update(vote_matter=matter, vote_matter_label=MATTERS[matter],
                vote_quorum_met=result.quorum_met, vote_passed=result.passed,
                vote_threshold=result.threshold, vote_reasons=list(result.reasons))
    return data


class RecordVote(OwnerVoteFields):
    """记录业主大会对解聘物业服务企业的表决结果。"""

    form_title = "记录业主共同决定（解聘）"
    resolution_no = text_field("决定文号", required=False, max_length=60)
    vote_note = textarea_field("表决情况说明", required=False, max_length=2000,
                               help="计票、监票和公告情况")

    @post_load
    def decide(self, data, **kwargs):
        return vote_data(data, PROVIDER_MATTER)


# -- notice, successor, handover --------------------------------------------------------------

class ServeNotice(FormSchema):
    """书面通知物业服务企业解聘决定。"""

    form_title = "书面通知解聘"
    notice_served_on = date_field("书面通知送达日期",
                                  help="合同自送达之日起满通知期限（默认六十日，合同另有约定的从其约定）终止")
    notice_no = text_field("通知书编号", required=False, max_length=60)
    delivery_method = choice_field("送达方式", DELIVERY_METHODS)
    notice_summary = textarea_field("通知主要内容", required=False, max_length=3000)


class ChooseSuccessor(FormSchema):
    """业主选聘新物业服务人或决定自行管理，并确定接收移交的一方。"""

    form_title = "选聘新物业服务人或决定自行管理"
    successor_type = choice_field("接管方式", SUCCESSOR_TYPES)
    successor_name = text_field("新物业服务人或托管单位名称", required=False, max_length=200)
    successor_code = _code("新物业服务企业编码", "已登记的企业填写编码")
    selection_method = text_field("选聘方式或决定依据", required=False, max_length=200,
                                  help="如公开招标、业主大会决定（文号）")
    decided_on = date_field("决定日期")
    receiver = choice_field("接收移交的一方", RECEIVERS,
                            help="《民法典》第九百四十九条：交还给业主委员会、决定自行管理的业主或者其指定的人")

    @validates_schema
    def successor_named(self, data, **kwargs):
        if data.get("successor_type") in ("new_enterprise", "community_trust") \
                and not data.get("successor_name"):
            raise ValidationError("选聘新物业服务企业或社区托管的，必须填写名称", "successor_name")
        if data.get("successor_type") == "self_management" \
                and data.get("receiver") == "nominee" and not data.get("successor_name"):
            raise ValidationError("由业主指定的人接收的，必须填写其名称", "successor_name")

    @post_load
    def exit_data(self, data, **kwargs):
        data["successor_type_label"] = SUCCESSOR_TYPES[data["successor_type"]]
        data["receiver_label"] = RECEIVERS[data["receiver"]]
        # The periods of the exit stage, as configured now, kept with the case: every path of
        # the process passes this form before the exit.
        data["exit_period_days"] = period("exit_period_days")
        data["continued_service_check_days"] = period("continued_service_check_days")
        data["handover_items"] = checklist()
        return data


class CompanyHandover(FormSchema):
    """物业服务企业退出并移交，如实告知物业的使用和管理状况。"""

    form_title = "退出并移交"
    company_action = choice_field("企业意见", COMPANY_ACTIONS)
    property_state_report = textarea_field(
        "物业使用和管理状况", required=False, max_length=5000,
        help="《民法典》第九百四十九条：如实告知物业的使用和管理状况；按期移交的必须填写")
    handover_planned_on = date_field("计划移交日期", required=False)
    refusal_reason = textarea_field("拒绝理由", required=False, max_length=3000)

    @validates_schema
    def details(self, data, **kwargs):
        if data.get("company_action") == "hand_over" and not data.get("property_state_report"):
            raise ValidationError("按期移交的，必须如实告知物业的使用和管理状况", "property_state_report")
        if data.get("company_action") == "refuse" and not data.get("refusal_reason"):
            raise ValidationError("拒绝退出或移交的，必须写明理由", "refusal_reason")

    @post_load
    def label(self, data, **kwargs):
        data["company_action_label"] = COMPANY_ACTIONS[data["company_action"]]
        return data


class ConfirmHandover(FormSchema):
    """接收方逐项确认移交；可分多次确认，直至全部确认。"""

    form_title = "逐项确认接收"
    confirmed_items = checklist_field("本次确认接收的项目", dict(HANDOVER_ITEMS), required=False,
                                      help="已确认的项目不必重复勾选；全部项目确认后移交完成")
    received_by = text_field("接收人", max_length=100)
    confirmed_on = date_field("确认日期")
    handover_note = textarea_field("移交情况说明", required=False, max_length=3000,
                                   help="缺失、损坏或账目不清的，写明情况")
    company_refuses_rest = boolean_field(
        "物业服务企业拒绝移交其余项目", required=False, load_default=False,
        help="选择后将上报住建部门责令限期移交")

    @validates_schema
    def something_happened(self, data, **kwargs):
        if not data.get("confirmed_items") and not data.get("company_refuses_rest"):
            raise ValidationError("请勾选本次确认接收的项目，或说明企业拒绝移交其余项目",
                                  "confirmed_items")

    @post_load
    def defaults(self, data, **kwargs):
        data["confirmed_items"] = data.get("confirmed_items") or []
        return data


class BureauOrder(FormSchema):
    """住建部门责令物业服务企业限期退出移交。"""

    form_title = "责令限期移交"
    order_no = text_field("责令通知书编号", max_length=60)
    order_content = textarea_field("责令内容", max_length=3000)
    order_working_days = integer_field(
        "移交期限（工作日）", required=False, minimum=1, maximum=MAX_WORKING_DAYS, strict=True,
        load_default=lambda: period("handover_order_working_days"),
        help=f"按国家法定工作日计算；默认为配置的 {period('handover_order_working_days')} 个工作日")


class BureauEnforce(FormSchema):
    """住建部门依法处理拒不退出移交的物业服务企业。"""

    form_title = "依法处理拒不移交"
    enforcement_measures = checklist_field("处理措施", ENFORCEMENT_MEASURES, min_items=1)
    enforcement_opinion = textarea_field("处理意见", max_length=3000)
    decided_on = date_field("处理日期")


class ConfirmService(FormSchema):
    """社区确认原物业服务企业在接管前继续提供服务（《民法典》第九百五十条）。"""

    form_title = "确认继续提供物业服务"
    service_continued = boolean_field("原物业服务企业继续提供服务")
    checked_on = date_field("确认日期")
    service_note = textarea_field("服务情况", required=False, max_length=2000)

    @validates_schema
    def note_when_stopped(self, data, **kwargs):
        if data.get("service_continued") is False and not data.get("service_note"):
            raise ValidationError("未继续提供服务的，必须写明情况", "service_note")

    @post_load
    def this_periods_note(self, data, **kwargs):
        data.setdefault("service_note", None)  # an earlier period's note is not this one's
        return data


FORMS = {
    "dismissal_handover.start": DismissalStart,
    "dismissal_handover.convene_meeting": ConveneMeeting,
    "dismissal_handover.name_parties": NameParties,
    "dismissal_handover.record_vote": RecordVote,
    "dismissal_handover.serve_notice": ServeNotice,
    "dismissal_handover.choose_successor": ChooseSuccessor,
    "dismissal_handover.company_handover": CompanyHandover,
    "dismissal_handover.confirm_handover": ConfirmHandover,
    "dismissal_handover.bureau_order": BureauOrder,
    "dismissal_handover.bureau_enforce": BureauEnforce,
    "dismissal_handover.confirm_service": ConfirmService,
}


# -- service handlers -------------------------------------------------------------------------

def _today(ctx):
    return ctx.now.astimezone(CHINA_TZ).date()


def current_contract(session, compound_code, enterprise_code=None):
    """The compound's contract in force (or being wound down), latest first; None if there is none."""
    query = select(ServiceContract).where(ServiceContract.compound_code == compound_code,
                                          ServiceContract.status.in_(("active", "ending")))
    if enterprise_code:
        query = query.where(ServiceContract.enterprise_code == enterprise_code)
    return session.scalars(query.order_by(ServiceContract.starts_on.desc(),
                                          ServiceContract.code.desc())).first()


def dismissal_notice(contract):
    """Art. 946's notice, the contract's own, or Art. 948's for a contract without fixed term."""
    if contract is not None and contract.ends_on is None:
        return period("indefinite_term_notice_days"), "《民法典》第九百四十八条（不定期物业服务合同）"
    if contract is not None and contract.notice_days:
        days = period("dismissal_notice_days", {"dismissal_notice_days": contract.notice_days})
        return days, f"物业服务合同 {contract.code} 约定"
    return period("dismissal_notice_days"), "《民法典》第九百四十六条"


def _not_found(problem):
    return {"found": False, "problem": problem, "enterprise_code": None, "enterprise_name": None,
            "contract_code": None, "contract_ends_on": None, "dismissal_notice_days": None,
            "dismissal_notice_basis": None}


def resolve_parties(ctx, contract_code=None, enterprise_code=None):
    """Which contract and enterprise the case is about, and the dismissal notice that applies.

    Says what is wrong (`found: False`, `problem`) instead of failing, so the community can name
    them: a case started by another process may know neither.
    """
    compound_code = ctx.case.compound
    if not compound_code:
        return _not_found("案件没有指定小区，无法确定物业服务合同；请填写物业服务企业编码")
    contract = None
    if contract_code:
        contract = ctx.session.get(ServiceContract, contract_code)
        if contract is None:
            return _not_found(f"未找到物业服务合同 {contract_code}")
        if contract.compound_code != compound_code:
            return _not_found(f"物业服务合同 {contract_code} 不是本小区的合同")
        if enterprise_code and enterprise_code != contract.enterprise_code:
            return _not_found(f"物业服务合同 {contract_code} 的物业服务企业是 {contract.enterprise_code}，"
                              f"与填写的 {enterprise_code} 不符")
        enterprise_code = contract.enterprise_code
    elif enterprise_code:
        contract = current_contract(ctx.session, compound_code, enterprise_code)
    else:
        contract = current_contract(ctx.session, compound_code)
        if contract is not None:
            enterprise_code = contract.enterprise_code
        else:
            compound = ctx.session.get(Organisation, compound_code)
            enterprise_code = ((compound.attributes or {}).get("enterprise_code")
                               if compound is not None else None)
            if not enterprise_code:
                return _not_found("本小区没有登记在管的物业服务合同或物业服务企业，请填写")
    enterprise = ctx.session.get(Organisation, enterprise_code)
    if enterprise is None or enterprise.kind != "enterprise":
        return _not_found(f"未找到物业服务企业 {enterprise_code}")
    days, basis = dismissal_notice(contract)
    return {"found": True, "problem": None, "enterprise_code": enterprise.code,
            "enterprise_name": enterprise.name,
            "contract_code": contract.code if contract else None,
            "contract_ends_on": contract.ends_on if contract else None,
            "dismissal_notice_days": days, "dismissal_notice_basis": basis}


def record_credit(ctx, enterprise_code, kind, note):
    """One entry in the enterprise's credit file, for one event of this case (a refusal, and a
    refusal that persists after the bureau's order, are two entries)."""
    if kind not in CREDIT_RECORD_KINDS:
        raise HandlerFailed(f"信用档案记录类型必须是以下之一：{'、'.join(CREDIT_RECORD_KINDS)}，收到：{kind!r}")
    enterprise = ctx.session.get(Organisation, enterprise_code) if enterprise_code else None
    if enterprise is None or enterprise.kind != "enterprise":
        raise HandlerFailed(f"未找到物业服务企业 {enterprise_code}")
    record = CreditRecord(case_id=ctx.case.id, kind=kind, grade=None,
                          enterprise_code=enterprise_code, year=_today(ctx).year,
                          note=str(note), recorded_at=ctx.now)
    ctx.session.add(record)
    ctx.session.flush()
    return {"id": record.id, "kind": kind, "kind_label": CREDIT_KINDS[kind],
            "enterprise_code": enterprise_code, "year": record.year,
            "recorded_at": ctx.now.isoformat()}


def set_contract_status(ctx, contract_code, status):
    """Mark the case's contract `ending` (notice served) or `terminated`; nothing without one."""
    if status not in ("ending", "terminated"):
        raise HandlerFailed(f"合同状态只能改为 ending 或 terminated，收到：{status!r}")
    if not contract_code:
        return None
    contract = ctx.session.get(ServiceContract, contract_code)
    if contract is None:
        raise HandlerFailed(f"未找到物业服务合同 {contract_code}")
    contract.status = status
    ctx.session.flush()
    return status


def tally_handover(ctx, confirmed, newly):
    """The checklist after a confirmation: what is confirmed, what is still outstanding."""
    done = merge_confirmed(confirmed or [], newly or [])
    left = outstanding(done)
    return {"confirmed": done, "outstanding": left, "complete": not left,
            "outstanding_labels": [HANDOVER_ITEMS[i] for i in left]}


HANDLERS = {
    "dismissal_handover_parties": resolve_parties,
    "dismissal_handover_credit": record_credit,
    "dismissal_handover_contract_status": set_contract_status,
    "dismissal_handover_tally": tally_handover,
}
