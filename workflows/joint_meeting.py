"""Forms of the joint meeting process (联席会议, `bpmn/joint_meeting.bpmn`).

The community convenes the three parties (regularly, or ad hoc at any party's request),
notifies them ahead of the meeting, records attendance, minutes and resolutions, publicizes the
minutes and follows every resolution up to its deadline (三方联动 联席会议制度).
"""
import datetime as dt

from marshmallow import ValidationError, fields, post_load, validate, validates_schema

from engine.calendar import CHINA_TZ
from workflows.json_schema import (FormSchema, Text, boolean_field, checklist_field,
                                   choice_field, date_field, datetime_field, integer_field,
                                   list_field, text_field, textarea_field)
from workflows.rules.periods import period

PROCESS_ID = "joint_meeting"

PARTIES = {"residents_committee": "居（村）民委员会", "owners_committee": "业主委员会（物业管理委员会）",
           "company": "物业服务企业"}
ATTENDING = {**PARTIES, "street": "街道办事处（乡镇）", "other": "其他单位"}
REQUESTERS = {**PARTIES, "street": "街道办事处（乡镇）"}
MEETING_TYPES = {"regular": "定期会议", "ad_hoc": "临时会议"}
NOTICE_METHODS = {"written": "书面通知", "phone": "电话通知", "message": "短信或微信通知",
                  "posting": "张贴公告"}
CONVENER = "residents_committee"


def _iso(value):
    """Nested forms hand back ISO strings, top-level fields dates: compare them as ISO text."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _beijing(value):
    return value.replace(tzinfo=CHINA_TZ) if value.tzinfo is None else value.astimezone(CHINA_TZ)


class ConveneMeeting(FormSchema):
    """召集联席会议。"""

    form_title = "召集联席会议"
    title = text_field("会议名称", required=False, max_length=100, help="不填则自动生成")
    meeting_type = choice_field("会议类型", MEETING_TYPES,
                                help="定期会议一般每季度召开一次；任何一方提议可召开临时会议")
    requested_by = choice_field("提议方", REQUESTERS, required=False,
                                help="临时会议必须写明提议方；定期会议由社区召集")
    request_reason = textarea_field("提议事由", required=False, max_length=2000)
    meeting_at = datetime_field("会议时间", help="不带时区的时间按北京时间理解")
    location = text_field("会议地点", max_length=200)
    agenda = fields.List(
        Text(validate=[validate.Length(min=1, error="议题不能为空"),
                       validate.Length(max=200, error="每项议题不能超过 {max} 个字")]),
        required=True, validate=[validate.Length(min=1, error="至少填写一项议题"),
                                 validate.Length(max=30, error="议题最多 {max} 项")],
        metadata={"label": "会议议题", "help": "每项一个议题"})

    @validates_schema
    def requester_for_ad_hoc(self, data, **kwargs):
        if data.get("meeting_type") == "ad_hoc":
            errors = {}
            if not data.get("requested_by"):
                errors["requested_by"] = ["临时会议必须写明提议方"]
            if not data.get("request_reason"):
                errors["request_reason"] = ["临时会议必须写明提议事由"]
            if errors:
                raise ValidationError(errors)

    @post_load
    def add_case_data(self, data, **kwargs):
        meeting_at = _beijing(data["meeting_at"])
        data["meeting_at"] = meeting_at
        if not data.get("requested_by"):
            data["requested_by"] = CONVENER
        notice_days = period("joint_meeting_notice_days")
        data["notice_days"] = notice_days
        data["meeting_on"] = meeting_at.date()
        data["notice_due"] = meeting_at.date() - dt.timedelta(days=notice_days)
        data["publicity_days"] = period("publicity_days")
        if not data.get("title"):
            data["title"] = f"{MEETING_TYPES[data['meeting_type']]}：三方联席会议（{meeting_at.date().isoformat()}）"
        return data


class SendNotice(FormSchema):
    """通知三方参会。"""

    form_title = "通知三方参会"
    notified_parties = checklist_field("已通知的单位", ATTENDING, min_items=1,
                                       help="居（村）民委员会、业主委员会和物业服务企业三方均须通知")
    notice_method = choice_field("通知方式", NOTICE_METHODS)
    notified_on = date_field("通知日期")
    notice_content = textarea_field("通知内容", required=False, max_length=3000)

    @validates_schema
    def three_parties(self, data, **kwargs):
        missing = [label for key, label in PARTIES.items()
                   if key not in (data.get("notified_parties") or [])]
        if missing:
            raise ValidationError(f"三方均须通知，尚未通知：{'、'.join(missing)}",
                                  "notified_parties")


class Attendance(FormSchema):
    party = choice_field("单位", ATTENDING)
    expected = integer_field("应到人数", minimum=0, maximum=1000, strict=True)
    present = integer_field("实到人数", minimum=0, maximum=1000, strict=True)
    names = text_field("参会人员", required=False, max_length=500)

    @validates_schema
    def present_not_above_expected(self, data, **kwargs):
        if data.get("present") is not None and data.get("expected") is not None \
                and data["present"] > data["expected"]:
            raise ValidationError(f"实到人数（{data['present']}）不能超过应到人数（{data['expected']}）",
                                  "present")


class Resolution(FormSchema):
    content = textarea_field("决议内容", max_length=2000)
    owner_party = choice_field("责任方", PARTIES)
    deadline = date_field("完成期限")


class RecordMinutes(FormSchema):
    """记录会议出席情况、纪要和决议。"""

    form_title = "记录会议纪要"
    held_on = date_field("召开日期")
    attendance = list_field("出席情况", Attendance, min_items=1, max_items=20)
    minutes = textarea_field("会议纪要", max_length=20000)
    resolutions = list_field("会议决议", Resolution, required=False, load_default=list,
                             max_items=100, help="每项决议写明内容、责任方和完成期限，会后逐项跟进落实")

    @validates_schema
    def consistent(self, data, **kwargs):
        errors = {}
        held_on = data.get("held_on")
        for index, item in enumerate(data.get("resolutions") or []):
            if held_on and item.get("deadline") and _iso(item["deadline"]) < _iso(held_on):
                errors[f"resolutions.{index}.deadline"] = ["完成期限不能早于会议召开日期"]
        seen = set()
        for index, row in enumerate(data.get("attendance") or []):
            if row.get("party") in seen and row.get("party") != "other":
                errors[f"attendance.{index}.party"] = ["同一单位只能填写一行"]
            seen.add(row.get("party"))
        attended = {row.get("party") for row in data.get("attendance") or [] if row.get("present")}
        if not attended & set(PARTIES):
            errors["attendance"] = ["三方中至少一方须有人出席"]
        if errors:
            raise ValidationError(errors)

    @post_load
    def summarise(self, data, **kwargs):
        resolutions = data.get("resolutions") or []
        for number, item in enumerate(resolutions, start=1):
            item["number"] = number
            item["owner_party_label"] = PARTIES[item["owner_party"]]
            item["done"] = False
            item["result"] = None
        data["resolutions"] = resolutions
        data["resolutions_count"] = len(resolutions)
        data["resolutions_open"] = len(resolutions)
        data["has_resolutions"] = bool(resolutions)
        data["follow_up_rounds"] = 0
        data["resolution_deadline_latest"] = max((_iso(r["deadline"]) for r in resolutions),
                                                 default=None)
        data["expected_total"] = sum(r["expected"] for r in data["attendance"])
        data["present_total"] = sum(r["present"] for r in data["attendance"])
        data["parties_present"] = [p for p in PARTIES
                                   if any(r["party"] == p and r["present"] for r in data["attendance"])]
        return data


class PublicizeMinutes(FormSchema):
    """公示会议纪要。"""

    form_title = "公示会议纪要"
    publicized_on = date_field("公示日期")
    publicity_locations = text_field("公示位置", max_length=300,
                                     help="如小区公告栏、单元门口、业主微信群")
    publicity_days = integer_field(
        "公示期（日）", required=False, minimum=1, maximum=365, strict=True,
        load_default=lambda: period("publicity_days"),
        help=f"默认为配置的公示期 {period('publicity_days')} 日")

    @post_load
    def publicity_end(self, data, **kwargs):
        data["publicity_ends_on"] = data["publicized_on"] + dt.timedelta(days=data["publicity_days"])
        return data


class Progress(FormSchema):
    number = integer_field("决议序号", minimum=1, maximum=100, strict=True)
    done = boolean_field("已落实")
    result = textarea_field("落实情况", required=False, max_length=2000)

    @validates_schema
    def result_when_done(self, data, **kwargs):
        if data.get("done") and not data.get("result"):
            raise ValidationError("已落实的决议须写明落实情况", "result")


class FollowUp(FormSchema):
    """跟进决议落实：逐项登记；全部落实后流程结束，否则继续跟进。"""

    form_title = "跟进决议落实"
    progress = list_field("落实情况", Progress, min_items=1, max_items=100,
                          help="按决议序号逐项登记；尚未落实的可先登记进展，待全部落实后结束")
    follow_up_note = textarea_field("跟进说明", required=False, max_length=2000)

    @validates_schema
    def unique_numbers(self, data, **kwargs):
        seen, errors = set(), {}
        for index, item in enumerate(data.get("progress") or []):
            if item.get("number") in seen:
                errors[f"progress.{index}.number"] = ["同一决议只能登记一次"]
            seen.add(item.get("number"))
        if errors:
            raise ValidationError(errors)


FORMS = {
    "joint_meeting.start": ConveneMeeting,
    "joint_meeting.send_notice": SendNotice,
    "joint_meeting.record_minutes": RecordMinutes,
    "joint_meeting.publicize_minutes": PublicizeMinutes,
    "joint_meeting.follow_up": FollowUp,
}
