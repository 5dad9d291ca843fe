"""Forms and service handlers of the publicity process (公示通报, `bpmn/publicity.bpmn`).

The community drafts a notice (or another process asks for one with the `start_publicity`
message), the street or the housing bureau reviews it (approve, return for revision, or refuse),
the community posts it for the notice period, and during the period the owners' committee, the
property company, or the community on a resident's behalf may raise objections. When the period
ends without objection the publicity is complete; objections are verified and either upheld
(the community revises the notice and posts it again for a fresh period) or rejected with
reasons. A violation circular (违规行为通报) is a kind of publicity that names the enterprise and
its violations and is addressed to the parties (by default the owners, the owners' committee and
the residents' committee, as credit risks are announced).

Objections are a user task of the owners' committee, the company and the community rather than
a message: a form validates what an objection must state, while a message's payload would be
merged unchecked into the case data.

Starting by message. A thrower sets `message_data` to a dict with `title`, `content`, `kind`
(one of `workflows.rules.publicity.KINDS`) and `publicity_days`, and may add `reviewer`
("street" or "bureau"), `basis`, and for a violation circular `enterprise_name`, `violations`
(a list of texts or of {"description", "found_on"}) and `addressees`. `publicity_message_data()`
builds and checks such a dict. The diagram's first script hands the payload to the
`publicity_accept_request` handler, which applies the same rules as the start form and adds the
review and objection periods from `workflows.rules.periods`; a payload that breaks them starts
no case (the thrower's case records the message as undelivered, with the reason).
"""
from datetime import datetime, time

from marshmallow import ValidationError, post_load, validates_schema

from engine.calendar import CHINA_TZ
from engine.handlers import HandlerFailed
from workflows.json_schema import (FormSchema, checklist_field, choice_field, date_field,
                                   integer_field, list_field, text_field, textarea_field)
from workflows.rules.periods import period
from workflows.rules.publicity import (ADDRESSEES, CIRCULAR_KIND, DEFAULT_ADDRESSEES, KINDS,
                                       REVIEWERS, notice_period_end, reviewer_for)

PROCESS_ID = "publicity"

REVIEW_RESULTS = {"approved": "同意公示", "returned": "退回修改", "rejected": "不予公示"}
CHANNELS = {"bulletin_board": "小区公告栏", "unit_entrances": "楼栋单元出入口",
            "owners_group": "业主微信群", "platform": "智慧物业平台", "written": "书面送达"}
OBJECTORS = {"owners_committee": "业主委员会（物业管理委员会）", "owner": "业主（住户）",
             "company": "物业服务企业", "other": "其他利害关系人"}
OBJECTION_DECISIONS = {"upheld": "异议成立，修改后重新公示", "rejected": "异议不成立，维持公示内容"}
OUTCOMES = {"published": "公示期满无异议", "objections_rejected": "异议不成立，公示完成",
            "not_approved": "审核不予公示"}
MAX_PUBLICITY_DAYS = 365


class Violation(FormSchema):
    description = textarea_field("违规行为", max_length=2000)
    found_on = date_field("发现日期", required=False, load_default=None)


class PublicityDraft(FormSchema):
    """拟定公示稿：公示或通报的内容、类别和公示期。"""

    form_title = "拟定公示稿"
    title = text_field("标题", max_length=100)
    kind = choice_field("类别", KINDS, help="违规行为通报须写明被通报企业和违规行为")
    content = textarea_field("公示内容", max_length=20000)
    basis = text_field("依据", required=False, max_length=300,
                       help="如《民法典》第九百四十三条、联席会议纪要、评议考评结果")
    covers_from = date_field("所属期间起", required=False, help="如季度收支公示的起止日期")
    covers_to = date_field("所属期间止", required=False)
    enterprise_name = text_field("被通报企业", required=False, max_length=100)
    violations = list_field("违规行为", Violation, required=False, load_default=list,
                            max_items=50)
    addressees = checklist_field(
        "通报对象", ADDRESSEES, required=False,
        help="不填则通报全体业主、业主委员会（物业管理委员会）和社区居（村）民委员会")
    publicity_days = integer_field(
        "公示期（日）", required=False, minimum=1, maximum=MAX_PUBLICITY_DAYS, strict=True,
        load_default=lambda: period("publicity_days"),
        help=f"自张贴次日起算，默认为配置的 {period('publicity_days')} 日；最后一日为休息日的，顺延至其后第一个工作日")
    reviewer = choice_field("审核单位", REVIEWERS, required=False,
                            help="不填则违规行为通报由住建部门审核，其他由街道审核")

    @validates_schema
    def consistent(self, data, **kwargs):
        errors = {}
        start, end = data.get("covers_from"), data.get("covers_to")
        if start and end and start > end:
            errors["covers_to"] = ["所属期间止不能早于所属期间起"]
        if end and not start:
            errors["covers_from"] = ["填写所属期间止时须同时填写所属期间起"]
        if data.get("kind") == CIRCULAR_KIND:
            if not data.get("enterprise_name"):
                errors["enterprise_name"] = ["违规行为通报须写明被通报企业"]
            if not data.get("violations"):
                errors["violations"] = ["违规行为通报须至少写明一项违规行为"]
        elif data.get("kind"):
            for key in ("enterprise_name", "violations", "addressees"):
                if data.get(key):
                    errors[key] = ["只有违规行为通报才填写此项"]
        if errors:
            raise ValidationError(errors)

    @post_load
    def add_case_data(self, data, **kwargs):
        return complete_draft(data)


def complete_draft(data):
    """What every new publicity case holds beside its draft: labels, the reviewer by rule, the
    addressees of a circular, the configured periods, and empty counters."""
    kind = data["kind"]
    data["kind_label"] = KINDS[kind]
    data["reviewer"] = reviewer_for(kind, data.get("reviewer"))
    data["reviewer_label"] = REVIEWERS[data["reviewer"]]
    if kind == CIRCULAR_KIND:
        data["addressees"] = list(data.get("addressees") or DEFAULT_ADDRESSEES)
        data["addressee_labels"] = [ADDRESSEES[a] for a in data["addressees"]]
    else:
        data.update(enterprise_name=None, violations=[], addressees=[], addressee_labels=[])
    data["review_working_days"] = period("publicity_review_working_days")
    data["objection_reply_working_days"] = period("objection_reply_working_days")
    data.update(posting_round=0, objection_count=0, objections_this_round=0, objections=[],
                outcome=None)
    return data


class ReviewDraft(FormSchema):
    """审核公示稿。"""

    form_title = "审核公示稿"
    review_result = choice_field("审核意见", REVIEW_RESULTS)
    review_opinion = textarea_field("审核说明", required=False, max_length=3000,
                                    help="退回修改或不予公示的，须写明理由")

    @validates_schema
    def reasons(self, data, **kwargs):
        if data.get("review_result") in ("returned", "rejected") and not data.get("review_opinion"):
            raise ValidationError(f"{REVIEW_RESULTS[data['review_result']]}须写明理由",
                                  "review_opinion")

    @post_load
    def label(self, data, **kwargs):
        data["review_result_label"] = REVIEW_RESULTS[data["review_result"]]
        return data


class ReviseNotice(FormSchema):
    """修改公示内容（审核退回或异议成立后）。"""

    form_title = "修改公示内容"
    title = text_field("标题", required=False, max_length=100, help="不填则沿用原标题")
    content = textarea_field("修改后的公示内容", max_length=20000)
    revision_note = textarea_field("修改说明", max_length=3000, help="逐条说明根据哪些意见作了哪些修改")

    @post_load
    def keep_title(self, data, **kwargs):
        if not data.get("title"):
            data.pop("title", None)
        return data


class PostNotice(FormSchema):
    """张贴公示：公示位置和方式；公示期自张贴次日起算。"""

    form_title = "张贴公示"
    channels = checklist_field("公示方式", CHANNELS, min_items=1)
    locations = text_field("公示位置", max_length=300, help="如小区东门公告栏、各楼栋单元出入口")
    posting_note = textarea_field("说明", required=False, max_length=1000)


class RaiseObjection(FormSchema):
    """公示期内提出异议。"""

    form_title = "提出异议"
    form_description = "公示期内，业主委员会、物业服务企业可直接提出异议；业主（住户）的异议由社区代为登记"
    objector_party = choice_field("异议人身份", OBJECTORS)
    objector_name = text_field("异议人", max_length=60)
    objector_contact = text_field("联系电话", required=False, max_length=40, load_default=None)
    objection_content = textarea_field("异议内容和理由", max_length=3000)
    evidence = text_field("证明材料", required=False, max_length=1000, load_default=None,
                          help="材料名称或链接，多个用逗号分隔")

    @post_load
    def label(self, data, **kwargs):
        data["objector_party_label"] = OBJECTORS[data["objector_party"]]
        return data


class HandleObjections(FormSchema):
    """核实处理公示期内收到的异议。"""

    form_title = "核实处理异议"
    objection_decision = choice_field("处理结论", OBJECTION_DECISIONS)
    objection_findings = textarea_field("核实情况", max_length=5000)
    revision_points = textarea_field("需要修改的内容", required=False, max_length=3000,
                                     help="异议成立时必填，据此修改后重新公示")
    rejection_reasons = textarea_field("不予采纳的理由", required=False, max_length=3000,
                                       help="异议不成立时必填，并答复异议人")

    @validates_schema
    def reasons(self, data, **kwargs):
        decision = data.get("objection_decision")
        if decision == "upheld" and not data.get("revision_points"):
            raise ValidationError("异议成立时须写明需要修改的内容", "revision_points")
        if decision == "rejected" and not data.get("rejection_reasons"):
            raise ValidationError("异议不成立时须写明理由", "rejection_reasons")

    @post_load
    def label(self, data, **kwargs):
        data["objection_decision_label"] = OBJECTION_DECISIONS[data["objection_decision"]]
        return data


FORMS = {
    "publicity.start": PublicityDraft,
    "publicity.street_review": ReviewDraft,
    "publicity.bureau_review": ReviewDraft,
    "publicity.revise_draft": ReviseNotice,
    "publicity.post_notice": PostNotice,
    "publicity.raise_objection": RaiseObjection,
    "publicity.handle_objections": HandleObjections,
    "publicity.revise_notice": ReviseNotice,
}


# -- starting by message ---------------------------------------------------------------------

REQUEST_FIELDS = ("title", "content", "kind", "publicity_days", "reviewer", "basis",
                  "enterprise_name", "violations", "addressees")


def publicity_message_data(title, content, kind, publicity_days=None, **optional):
    """The `message_data` a process throws with `start_publicity`, checked by the same rules
    as the start form (raises `ValueError` with the Chinese reasons)."""
    payload = {"title": title, "content": content, "kind": kind,
               "publicity_days": period("publicity_days") if publicity_days is None else publicity_days}
    payload.update({k: v for k, v in optional.items() if v is not None})
    _check_request(payload)
    return payload


def _check_request(payload):
    unknown = sorted(set(payload) - set(REQUEST_FIELDS))
    if unknown:
        raise ValueError(f"发起公示的请求含有未知字段：{'、'.join(unknown)}")
    request = dict(payload)
    if isinstance(request.get("violations"), list):
        request["violations"] = [{"description": v} if isinstance(v, str) else v
                                 for v in request["violations"]]
    try:
        return PublicityDraft().load({k: v for k, v in request.items() if v is not None})
    except ValidationError as exc:
        raise ValueError("发起公示的请求有误：" + _reasons(exc.messages)) from exc


def _reasons(messages, prefix=""):
    parts = []
    for key, value in messages.items():
        if isinstance(value, dict):
            parts.append(_reasons(value, f"{prefix}{key}."))
        else:
            parts.append(f"{prefix}{key}：{'，'.join(str(v) for v in value)}")
    return "；".join(parts)


def accept_request(ctx, **payload):
    """Handler `publicity_accept_request`: a message-started case's draft, completed as the
    start form would complete it."""
    try:
        return _check_request(payload)
    except ValueError as exc:
        raise HandlerFailed(str(exc)) from exc


def notice_period(ctx, days):
    """Handler `publicity_notice_period`: a notice posted today (the engine's day, Beijing) and
    the end of its period, as a date and as the timer's date-time (24:00 of the last day)."""
    posted_on = ctx.now.astimezone(CHINA_TZ).date()
    ends_on = notice_period_end(posted_on, days)
    ends_at = datetime.combine(ends_on, time(23, 59, 59), CHINA_TZ)
    return {"posted_on": posted_on.isoformat(), "ends_on": ends_on.isoformat(),
            "ends_at": ends_at.isoformat()}


HANDLERS = {
    "publicity_accept_request": accept_request,
    "publicity_notice_period": notice_period,
}
