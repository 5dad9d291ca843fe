"""Forms as JSON: the JSON Schema of a marshmallow form, and the base every form builds on.

`schema_of(schema)` describes a marshmallow schema for the API (`start_form`, a task's `form`)
and the web form renderer:

- `type: object`, `properties`, `x-order` (the property names in declaration order, since JSON
  encoders may sort object keys), `required`, and `additionalProperties: false` when the form
  refuses unknown fields (marshmallow's default);
- per field: `type` (string, integer, number, boolean, array, object), `format` (`date`,
  `date-time`, `time`, `email`, `uri`), `title` from `metadata["label"]` (the Chinese label),
  `description` from `metadata["help"]`, `default` from `load_default`, `enum` from `OneOf`
  (with `x-enum-labels`, the Chinese labels in the same order, when `OneOf` has labels),
  `minimum`/`maximum` (or the exclusive forms) from `Range`, `minLength`/`maxLength` (or
  `minItems`/`maxItems` for lists) from `Length`, `pattern` from `Regexp`;
- `x-widget` from `metadata["widget"]`: a rendering hint such as `textarea` or `checklist`;
  any other metadata key starting with `x-` is passed through as it is.

`FormSchema` is the base of our forms: Chinese error messages for every field type (a form
states only the messages particular to it), whitespace-trimmed strings, and output that is
JSON (dates and date-times as ISO 8601 strings, date-times in Beijing time), because what a
form returns becomes case data. The `*_field` helpers declare the usual fields with their
label, help and validation in one line.
"""
import datetime as dt
import decimal
import uuid

from marshmallow import Schema, fields, validate
from marshmallow.utils import missing

from engine.calendar import CHINA_TZ

__all__ = [
    "schema_of", "FormSchema", "Text", "text_field", "textarea_field", "choice_field",
    "integer_field", "number_field", "boolean_field", "date_field", "datetime_field",
    "checklist_field", "list_field", "MESSAGES",
]

# -- JSON Schema ----------------------------------------------------------------------------

_FORMATS = (
    (fields.Email, "string", "email"),
    (fields.Url, "string", "uri"),
    (fields.UUID, "string", "uuid"),
    (fields.NaiveDateTime, "string", "date-time"),
    (fields.AwareDateTime, "string", "date-time"),
    (fields.DateTime, "string", "date-time"),  # before Date: Date does not derive from it
    (fields.Date, "string", "date"),
    (fields.Time, "string", "time"),
    (fields.String, "string", None),
    (fields.Integer, "integer", None),
    (fields.Number, "number", None),  # Float and Decimal too
    (fields.Boolean, "boolean", None),
    (fields.Dict, "object", None),
    (fields.Mapping, "object", None),
)


def schema_of(schema):
    """The JSON Schema (a dict) of a marshmallow schema instance (a class is accepted too)."""
    if isinstance(schema, type):
        schema = schema()
    out = {"type": "object"}
    title = getattr(schema, "form_title", None)
    if title:
        out["title"] = title
    description = getattr(schema, "form_description", None)
    if description:
        out["description"] = description
    properties, required = {}, []
    for name, field in schema.fields.items():
        if field.dump_only:
            continue
        key = field.data_key or name
        properties[key] = _field_schema(field, name)
        if field.required:
            required.append(key)
    out["properties"] = properties
    out["x-order"] = list(properties)  # JSON objects may be re-sorted on the way (Flask does)
    if required:
        out["required"] = required
    if getattr(schema, "unknown", None) == "raise":
        out["additionalProperties"] = False
    return out


def _field_schema(field, name=None):
    if isinstance(field, fields.Nested):
        nested = field.schema
        node = schema_of(nested)
        if field.many:
            node = {"type": "array", "items": node}
    elif isinstance(field, fields.List):
        node = {"type": "array", "items": _field_schema(field.inner)}
    elif isinstance(field, fields.Tuple):
        node = {"type": "array", "items": [_field_schema(f) for f in field.tuple_fields]}
    else:
        node = {}
        for cls, json_type, json_format in _FORMATS:
            if isinstance(field, cls):
                node["type"] = json_type
                if json_format:
                    node["format"] = json_format
                break
    metadata = field.metadata or {}
    label = metadata.get("label") or metadata.get("title")
    if label:
        node["title"] = label
    elif name:
        node.setdefault("title", name)
    if metadata.get("help") or metadata.get("description"):
        node["description"] = metadata.get("help") or metadata.get("description")
    if metadata.get("widget"):
        node["x-widget"] = metadata["widget"]
    for key, value in metadata.items():
        if key.startswith("x-"):
            node[key] = value
    default = field.load_default
    if default is not missing:
        if callable(default):
            try:
                default = default()
            except Exception:  # noqa: BLE001 - a default that needs context is not shown
                default = missing
        if default is not missing and default is not None:
            node["default"] = _jsonable(default)
    for validator in _validators(field):
        _apply_validator(node, validator)
    return node


def _validators(field):
    found = list(field.validators or [])
    return [v for v in found if isinstance(v, validate.Validator)]


def _apply_validator(node, validator):
    is_array = node.get("type") == "array"
    if isinstance(validator, validate.ContainsOnly):  # a subclass of OneOf: test it first
        target = node.setdefault("items", {}) if is_array else node
        _enum(target, validator)
    elif isinstance(validator, validate.OneOf):
        _enum(node, validator)
    elif isinstance(validator, validate.Range):
        if validator.min is not None:
            key = "minimum" if validator.min_inclusive else "exclusiveMinimum"
            node[key] = _jsonable(validator.min)
        if validator.max is not None:
            key = "maximum" if validator.max_inclusive else "exclusiveMaximum"
            node[key] = _jsonable(validator.max)
    elif isinstance(validator, validate.Length):
        low, high = ("minItems", "maxItems") if is_array else ("minLength", "maxLength")
        if validator.equal is not None:
            node[low] = node[high] = validator.equal
        else:
            if validator.min is not None:
                node[low] = max(node.get(low, 0), validator.min)
            if validator.max is not None:
                node[high] = min(node.get(high, validator.max), validator.max)
    elif isinstance(validator, validate.Regexp):
        node["pattern"] = validator.regex.pattern


def _enum(node, validator):
    node["enum"] = [_jsonable(c) for c in validator.choices]
    labels = list(validator.labels)
    if labels and labels != [str(c) for c in validator.choices]:
        node["x-enum-labels"] = labels


def _jsonable(value):
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=CHINA_TZ)
        return value.astimezone(CHINA_TZ).isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    return value


# -- the base of our forms --------------------------------------------------------------------

# Chinese messages by marshmallow error key, per field class (the most specific class wins).
MESSAGES = {
    fields.Field: {"required": "此项为必填项", "null": "此项不能为空",
                   "validator_failed": "取值无效"},
    fields.String: {"invalid": "必须是文字", "invalid_utf8": "不是有效的 UTF-8 文字"},
    fields.Number: {"invalid": "必须是数字", "too_large": "数值过大"},
    fields.Integer: {"invalid": "必须是整数"},
    fields.Float: {"special": "不能是非数字或无穷大"},
    fields.Decimal: {"special": "不能是非数字或无穷大"},
    fields.Boolean: {"invalid": "必须是“是”或“否”"},
    fields.DateTime: {"invalid": "不是有效的日期时间（如 2026-03-10T09:00）",
                      "invalid_awareness": "日期时间的时区信息不符合要求",
                      "format": "无法格式化为日期时间"},
    fields.Date: {"invalid": "不是有效的日期（如 2026-03-10）", "format": "无法格式化为日期"},
    fields.Time: {"invalid": "不是有效的时间（如 09:30）", "format": "无法格式化为时间"},
    fields.List: {"invalid": "必须是列表"},
    fields.Tuple: {"invalid": "必须是列表"},
    fields.Nested: {"type": "格式无效，必须是对象"},
    fields.Dict: {"invalid": "必须是对象"},
    fields.Mapping: {"invalid": "必须是对象"},
    fields.Email: {"invalid": "不是有效的电子邮件地址"},
    fields.Url: {"invalid": "不是有效的网址"},
    fields.UUID: {"invalid_uuid": "不是有效的 UUID"},
}


def _chinese_messages(field):
    """Replace marshmallow's English default messages of `field` (and its inner fields)."""
    defaults = {}
    for cls in reversed(type(field).__mro__):
        defaults.update(getattr(cls, "default_error_messages", {}) or {})
    chinese = {}
    for cls in reversed(type(field).__mro__):
        chinese.update(MESSAGES.get(cls, {}))
    for key, message in list(field.error_messages.items()):
        if key in chinese and message == defaults.get(key):
            field.error_messages[key] = chinese[key]
    if isinstance(field, fields.List):
        _chinese_messages(field.inner)
    if isinstance(field, fields.Tuple):
        for inner in field.tuple_fields:
            _chinese_messages(inner)


class FormSchema(Schema):
    """Base of our forms: Chinese messages, trimmed strings, JSON output for case data."""

    error_messages = {"unknown": "不是本表单的字段", "type": "表单数据必须是对象"}
    form_title = None
    form_description = None

    def on_bind_field(self, field_name, field_obj):
        _chinese_messages(field_obj)

    def load(self, data, *args, **kwargs):
        return _jsonable(super().load(data, *args, **kwargs))


class Text(fields.String):
    """A string with surrounding whitespace removed, so that "   " counts as empty."""

    def _deserialize(self, value, attr, data, **kwargs):
        result = super()._deserialize(value, attr, data, **kwargs)
        return result.strip() if isinstance(result, str) else result


def _meta(label, help=None, widget=None, extra=None):
    metadata = {"label": label}
    if help:
        metadata["help"] = help
    if widget:
        metadata["widget"] = widget
    metadata.update(extra or {})
    return metadata


def _presence(required, kwargs):
    """Required fields refuse null; optional ones accept it unless told otherwise."""
    kwargs.setdefault("required", required)
    if not required and "load_default" not in kwargs:
        kwargs.setdefault("allow_none", True)
    return kwargs


def text_field(label, *, help=None, required=True, max_length=200, min_length=None,
               widget=None, validate_=(), metadata=None, **kwargs):
    """A one-line text; required means not blank either."""
    validators = []
    if required or min_length:
        validators.append(validate.Length(min=min_length or 1, error="不能为空" if not min_length
                                          else f"至少 {min_length} 个字"))
    if max_length:
        validators.append(validate.Length(max=max_length, error="不能超过 {max} 个字"))
    validators.extend(validate_)
    return Text(validate=validators, metadata=_meta(label, help, widget, metadata),
                **_presence(required, kwargs))


def textarea_field(label, *, max_length=5000, **kwargs):
    """A multi-line text (`x-widget: textarea`)."""
    kwargs.setdefault("widget", "textarea")
    return text_field(label, max_length=max_length, **kwargs)


def choice_field(label, choices, *, help=None, required=True, widget=None, metadata=None,
                 **kwargs):
    """One of `choices` ({value: Chinese label}); JSON Schema `enum` + `x-enum-labels`."""
    values, labels = list(choices), list(choices.values())
    check = validate.OneOf(values, labels=labels, error="必须是以下之一：{labels}")
    return Text(validate=[check], metadata=_meta(label, help, widget, metadata),
                **_presence(required, kwargs))


def integer_field(label, *, help=None, required=True, minimum=None, maximum=None, widget=None,
                  metadata=None, **kwargs):
    validators = _range(minimum, maximum)
    return fields.Integer(strict=kwargs.pop("strict", False), validate=validators,
                          metadata=_meta(label, help, widget, metadata),
                          **_presence(required, kwargs))


def number_field(label, *, help=None, required=True, minimum=None, maximum=None,
                 exclusive_minimum=False, widget=None, metadata=None, **kwargs):
    validators = _range(minimum, maximum, min_inclusive=not exclusive_minimum)
    return fields.Float(validate=validators, metadata=_meta(label, help, widget, metadata),
                        **_presence(required, kwargs))


def _range(minimum, maximum, min_inclusive=True):
    if minimum is None and maximum is None:
        return []
    if minimum is not None and maximum is not None:
        error = "必须在 {min} 至 {max} 之间" if min_inclusive else "必须大于 {min}，且不超过 {max}"
    elif minimum is not None:
        error = "不能小于 {min}" if min_inclusive else "必须大于 {min}"
    else:
        error = "不能大于 {max}"
    return [validate.Range(min=minimum, max=maximum, min_inclusive=min_inclusive, error=error)]


def boolean_field(label, *, help=None, required=True, widget=None, metadata=None, **kwargs):
    return fields.Boolean(metadata=_meta(label, help, widget, metadata),
                          **_presence(required, kwargs))


def date_field(label, *, help=None, required=True, widget=None, metadata=None, **kwargs):
    """A date (`format: date`), returned as an ISO string `YYYY-MM-DD`."""
    return fields.Date(metadata=_meta(label, help, widget, metadata), **_presence(required, kwargs))


def datetime_field(label, *, help=None, required=True, widget=None, metadata=None, **kwargs):
    """A date-time (`format: date-time`); one without an offset is Beijing time."""
    return fields.DateTime(metadata=_meta(label, help, widget, metadata),
                           **_presence(required, kwargs))


def checklist_field(label, choices, *, help=None, required=True, min_items=None, metadata=None,
                    **kwargs):
    """Several of `choices` ({value: label}), rendered as check boxes (`x-widget: checklist`)."""
    values, labels = list(choices), list(choices.values())
    validators = [validate.ContainsOnly(values, labels=labels, error="只能选择：{labels}")]
    if min_items:
        validators.append(validate.Length(min=min_items, error="至少选择 {min} 项"))
    inner = Text()
    return fields.List(inner, validate=validators,
                       metadata=_meta(label, help, "checklist", metadata),
                       **_presence(required, kwargs))


def list_field(label, schema, *, help=None, required=True, min_items=None, max_items=None,
               widget=None, metadata=None, **kwargs):
    """A list of objects of form `schema` (a `FormSchema` class)."""
    validators = []
    if min_items:
        validators.append(validate.Length(min=min_items, error="至少填写 {min} 项"))
    if max_items:
        validators.append(validate.Length(max=max_items, error="最多填写 {max} 项"))
    return fields.List(fields.Nested(schema), validate=validators,
                       metadata=_meta(label, help, widget, metadata),
                       **_presence(required, kwargs))
