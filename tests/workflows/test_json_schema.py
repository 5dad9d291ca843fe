"""JSON Schema of marshmallow forms, and the Chinese, JSON-ready base form."""
import re

import pytest
from marshmallow import Schema, ValidationError, fields, validate

from engine.errors import ValidationFailed
from engine.forms import FormRegistry
from workflows import register_forms
from workflows.forms import FORMS, MarshmallowForm
from workflows.json_schema import (FormSchema, boolean_field, checklist_field, choice_field,
                                   date_field, datetime_field, integer_field, list_field,
                                   number_field, schema_of, text_field, textarea_field)

CJK = re.compile(r"[\u4e00-\u9fff]")


class Item(FormSchema):
    name = text_field("名称", max_length=20)
    amount = number_field("金额（元）", minimum=0, exclusive_minimum=True, maximum=1000)


class Sample(FormSchema):
    form_title = "示例表单"
    form_description = "用于测试"
    title = text_field("标题", required=False, max_length=50, help="不填则自动生成")
    body = textarea_field("正文", max_length=500)
    kind = choice_field("类型", {"a": "甲类", "b": "乙类"})
    count = integer_field("数量", minimum=1, maximum=9, load_default=3, required=False)
    agreed = boolean_field("同意")
    on = date_field("日期")
    at = datetime_field("时间", required=False)
    checks = checklist_field("检查项", {"x": "项目一", "y": "项目二"}, min_items=1)
    items = list_field("明细", Item, required=False, max_items=5)


def test_schema_of_a_form():
    schema = schema_of(Sample())
    assert schema["type"] == "object"
    assert schema["title"] == "示例表单" and schema["description"] == "用于测试"
    assert schema["required"] == ["body", "kind", "agreed", "on", "checks"]
    assert schema["additionalProperties"] is False
    props = schema["properties"]
    assert list(props) == schema["x-order"] == [
        "title", "body", "kind", "count", "agreed", "on", "at", "checks", "items"]
    assert props["title"] == {"type": "string", "title": "标题", "description": "不填则自动生成",
                              "maxLength": 50}
    assert props["body"] == {"type": "string", "title": "正文", "x-widget": "textarea",
                             "minLength": 1, "maxLength": 500}
    assert props["kind"] == {"type": "string", "title": "类型", "enum": ["a", "b"],
                             "x-enum-labels": ["甲类", "乙类"]}
    assert props["count"] == {"type": "integer", "title": "数量", "default": 3, "minimum": 1,
                              "maximum": 9}
    assert props["agreed"] == {"type": "boolean", "title": "同意"}
    assert props["on"] == {"type": "string", "format": "date", "title": "日期"}
    assert props["at"] == {"type": "string", "format": "date-time", "title": "时间"}
    assert props["checks"] == {"type": "array", "title": "检查项", "x-widget": "checklist",
                               "items": {"type": "string", "enum": ["x", "y"],
                                         "x-enum-labels": ["项目一", "项目二"]},
                               "minItems": 1}
    items = props["items"]
    assert items["type"] == "array" and items["title"] == "明细" and items["maxItems"] == 5
    assert items["items"]["required"] == ["name", "amount"]
    assert items["items"]["properties"]["amount"] == {
        "type": "number", "title": "金额（元）", "exclusiveMinimum": 0, "maximum": 1000}


def test_schema_of_a_plain_marshmallow_schema():
    class Plain(Schema):
        note = fields.String(required=True, validate=validate.Length(max=10),
                             metadata={"label": "备注", "help": "简短说明", "widget": "textarea",
                                       "x-placeholder": "请输入"})
        level = fields.Integer(validate=[validate.Range(min=0, max=5, max_inclusive=False),
                                         validate.OneOf([0, 1, 2])])
        tags = fields.List(fields.String(), validate=validate.Length(equal=2))
        code = fields.String(validate=validate.Regexp(r"^C\d{4}$"))
        ratio = fields.Decimal(load_default=None)
        created = fields.DateTime(dump_only=True)

    schema = schema_of(Plain)  # a class is accepted as well
    assert schema["required"] == ["note"]
    assert "created" not in schema["properties"]
    props = schema["properties"]
    assert props["note"] == {"type": "string", "title": "备注", "description": "简短说明",
                             "x-widget": "textarea", "x-placeholder": "请输入", "maxLength": 10}
    assert props["level"] == {"type": "integer", "title": "level", "minimum": 0,
                              "exclusiveMaximum": 5, "enum": [0, 1, 2]}
    assert props["tags"] == {"type": "array", "items": {"type": "string"}, "title": "tags",
                             "minItems": 2, "maxItems": 2}
    assert props["code"]["pattern"] == r"^C\d{4}$"
    assert props["ratio"] == {"type": "number", "title": "ratio"}


def test_form_messages_are_chinese_and_output_is_json():
    form = MarshmallowForm(Sample)
    with pytest.raises(ValidationFailed) as refused:
        form.load({"body": "  ", "kind": "c", "count": "x", "agreed": "maybe", "on": "2026-13-01",
                   "at": "soon", "checks": ["z"], "items": [{"name": "", "amount": 0}],
                   "extra": 1})
    assert refused.value.fields == {
        "body": ["不能为空"], "kind": ["必须是以下之一：甲类, 乙类"], "count": ["必须是整数"],
        "agreed": ["必须是“是”或“否”"], "on": ["不是有效的日期（如 2026-03-10）"],
        "at": ["不是有效的日期时间（如 2026-03-10T09:00）"], "checks": ["只能选择：项目一, 项目二"],
        "items.0.name": ["不能为空"], "items.0.amount": ["必须大于 0，且不超过 1000"],
        "extra": ["不是本表单的字段"]}
    with pytest.raises(ValidationFailed) as refused:
        form.load({})
    assert refused.value.fields == {key: ["此项为必填项"]
                                    for key in ("body", "kind", "agreed", "on", "checks")}
    clean = form.load({"body": "  正文  ", "kind": "a", "agreed": True, "on": "2026-03-02",
                       "at": "2026-03-02T09:00:00", "checks": ["x"],
                       "items": [{"name": "电梯", "amount": 12.5}]})
    assert clean == {"body": "正文", "kind": "a", "count": 3, "agreed": True, "on": "2026-03-02",
                     "at": "2026-03-02T09:00:00+08:00", "checks": ["x"],
                     "items": [{"name": "电梯", "amount": 12.5}]}
    utc = form.load({"body": "x", "kind": "a", "agreed": False, "on": "2026-03-02",
                     "at": "2026-03-02T01:00:00Z", "checks": ["y"]})
    assert utc["at"] == "2026-03-02T09:00:00+08:00"


def test_decimals_and_uuids_load_as_json_values():
    class Typed(FormSchema):
        score = fields.Decimal(required=True)
        whole = fields.Decimal(required=True)
        ref = fields.UUID(required=True)

    clean = Typed().load({"score": "87.5", "whole": "90", "ref": "6a20ebbc-1865-43a1-b552-5ee5f172e9ee"})
    assert clean == {"score": 87.5, "whole": 90, "ref": "6a20ebbc-1865-43a1-b552-5ee5f172e9ee"}
    assert type(clean["whole"]) is int and type(clean["ref"]) is str


def test_custom_messages_are_kept():
    class Custom(FormSchema):
        n = fields.Integer(required=True, error_messages={"required": "请填写数量"})

    with pytest.raises(ValidationError) as refused:
        Custom().load({})
    assert refused.value.messages == {"n": ["请填写数量"]}


def test_forms_are_registered_with_chinese_labels_everywhere():
    registry = FormRegistry()
    register_forms(registry)
    expected = {"rectification.start", "rectification.issue_order", "rectification.submit_report",
                "rectification.verify", "rectification.street_handle",
                "rectification.bureau_transfer", "joint_meeting.start", "joint_meeting.send_notice",
                "joint_meeting.record_minutes", "joint_meeting.publicize_minutes",
                "joint_meeting.follow_up"}
    assert expected <= set(registry.keys())
    for key in expected:
        schema = registry.schema(key)
        assert CJK.search(schema["title"]), key
        _all_titles_chinese(schema, key)


def _all_titles_chinese(node, where):
    for name, prop in node.get("properties", {}).items():
        assert CJK.search(prop.get("title", "")), f"{where}.{name} has no Chinese label"
        if prop.get("type") == "array" and isinstance(prop.get("items"), dict):
            _all_titles_chinese(prop["items"], f"{where}.{name}[]")
        _all_titles_chinese(prop, f"{where}.{name}")


def test_start_form_schema_shows_configured_default():
    schema = schema_of(FORMS["rectification.start"]())
    days = schema["properties"]["deadline_working_days"]
    assert days["default"] == 15 and days["minimum"] == 1
    assert schema["properties"]["source"]["x-enum-labels"] == ["日常巡查检查", "评议考评", "业主投诉"]
    assert schema["properties"]["problem_description"]["x-widget"] == "textarea"
