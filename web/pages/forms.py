"""HTML forms from a task's JSON Schema, and the submitted strings back to the schema's types.

Understood of each property: `title`, `description`, `type` (string, integer, number, boolean,
array, object; `["x", "null"]` counts as x), `format` date / date-time, `enum` (or `oneOf:
[{const, title}]`) with labels from `x-enum-labels` (what `workflows.json_schema` writes),
`x-enum-titles` or `enumNames`, `default`, `minimum`/`maximum`, `maxLength`, and `x-widget`
textarea / checklist. A checklist is an array of enum items (one checkbox each) or an object of
boolean properties (one checkbox each, unticked ones false). An array of objects whose
properties are all plain values (attendance, resolutions) is a table of rows, one input per
column, named `<field>-<row>-<column>`; blank rows are left out. Anything else (nested objects,
arrays of nested objects) is edited as JSON, with a hint naming the keys.
"""
import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime

from engine.calendar import CHINA_TZ
from web.pages.i18n import _

DATA_FIELD = "data"  # the one JSON field of a task without a schema


@dataclass
class Field:
    name: str
    label: str
    widget: str  # text textarea integer number boolean select checklist date datetime lines rows json
    required: bool = False
    description: str = ""
    options: list = field(default_factory=list)  # [(value as submitted, label, typed value)]
    item_type: str = "string"  # for `lines` and enum selects: the type of the values
    attrs: dict = field(default_factory=dict)  # extra input attributes (min, max, maxlength)
    value: object = ""  # what the input shows: a string, a list of strings for checklists,
    #                     a list of {column: string} for rows
    errors: list = field(default_factory=list)
    columns: list = field(default_factory=list)  # rows: one Field per column
    cell_errors: dict = field(default_factory=dict)  # rows: (row, column) -> [messages]

    def display_rows(self):
        """The rows a table shows: what was entered, then blank rows to type into."""
        rows = list(self.value or [])
        wanted = max(len(rows) + 1, int(self.attrs.get("minItems") or 1), 2)
        limit = self.attrs.get("maxItems")
        if isinstance(limit, int):
            wanted = min(wanted, max(limit, len(rows)))
        return rows + [{} for _blank in range(wanted - len(rows))]


def _type(spec):
    kind = spec.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "string")
    if kind is None and "enum" in spec:
        values = [v for v in spec["enum"] if v is not None]
        kind = ("boolean" if values and all(isinstance(v, bool) for v in values) else
                "integer" if values and all(isinstance(v, int) for v in values) else "string")
    return kind or "string"


def _options(spec):
    if "enum" in spec:
        values = [v for v in spec["enum"] if v is not None]
        titles = (spec.get("x-enum-labels") or spec.get("x-enum-titles") or spec.get("enumNames")
                  or [])
        return [(_as_text(v), str(titles[i]) if i < len(titles) else _as_text(v), v)
                for i, v in enumerate(values)]
    choices = spec.get("oneOf") or spec.get("anyOf") or []
    if choices and all(isinstance(c, dict) and "const" in c for c in choices):
        return [(_as_text(c["const"]), str(c.get("title") or c["const"]), c["const"]) for c in choices]
    return []


def _as_text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def fields_from_schema(schema):
    """The fields of a form, in the schema's order; no schema: one JSON textarea `data`."""
    if not schema or not isinstance(schema.get("properties"), dict):
        return [Field(DATA_FIELD, _("表单数据（JSON 对象）"), "json", value="{}",
                      description=_("此任务没有预设表单，请以 JSON 对象填写办理结果，例如 %(example)s。",
                                    example='{"意见": "同意"}'))]
    required = set(schema.get("required") or [])
    fields = []
    for name, spec in _ordered(schema):
        if not isinstance(spec, dict) or spec.get("readOnly"):
            continue
        fields.append(_field(name, spec, name in required))
    return fields


def _ordered(schema):
    """Properties in the form's own order (`x-order`), whatever order the dict came in."""
    properties = schema["properties"]
    order = [k for k in schema.get("x-order") or [] if k in properties]
    return [(k, properties[k]) for k in order + [k for k in properties if k not in order]]


_PLAIN = ("string", "integer", "number", "boolean")


def _plain_object(spec):
    """An object of plain values only: the rows of a table can edit it."""
    props = spec.get("properties") if isinstance(spec, dict) else None
    return bool(props) and all(isinstance(p, dict) and _type(p) in _PLAIN for p in props.values())


def _field(name, spec, required):
    kind, widget = _type(spec), spec.get("x-widget")
    f = Field(name, str(spec.get("title") or name), "text", required=required,
              description=str(spec.get("description") or ""), item_type=kind)
    if kind == "array":
        items = spec.get("items") if isinstance(spec.get("items"), dict) else {}
        f.options, f.item_type = _options(items), _type(items)
        if f.item_type == "object" and _plain_object(items):
            f.widget = "rows"
            needed = set(items.get("required") or [])
            f.columns = [_field(k, p, k in needed) for k, p in _ordered(items)]
            f.attrs = {k: spec[k] for k in ("minItems", "maxItems") if isinstance(spec.get(k), int)}
        elif f.options:
            f.widget = "checklist"
        elif f.item_type in ("string", "integer", "number"):
            f.widget = "lines"
        else:
            f.widget = "json"
            f.description = _join(f.description, _json_hint(items, "每项"))
    elif kind == "object":
        props = spec.get("properties") if isinstance(spec.get("properties"), dict) else {}
        if widget == "checklist" and props and all(_type(p) == "boolean" for p in props.values()):
            f.widget, f.item_type = "checklist", "object"
            f.options = [(k, str(p.get("title") or k), k) for k, p in props.items()]
        else:
            f.widget = "json"
            f.description = _join(f.description, _json_hint(spec, ""))
    elif kind == "boolean":
        f.widget = "boolean"
    elif _options(spec):
        f.widget, f.options = "select", _options(spec)
    elif kind in ("integer", "number"):
        f.widget = kind
        f.attrs = {k: spec[k] for k in ("minimum", "maximum") if isinstance(spec.get(k), (int, float))}
    elif spec.get("format") == "date":
        f.widget = "date"
    elif spec.get("format") == "date-time":
        f.widget = "datetime"
    elif widget == "textarea":
        f.widget = "textarea"
    if kind == "string" and isinstance(spec.get("maxLength"), int):
        f.attrs["maxlength"] = spec["maxLength"]
    if "default" in spec:
        f.value = _display(f, spec["default"])
    elif f.widget in ("checklist", "rows"):
        f.value = []
    return f


def _join(*texts):
    return "；".join(t for t in texts if t)


def _json_hint(spec, prefix):
    """What to type into a JSON box: the object's keys with their titles."""
    props = spec.get("properties") if isinstance(spec.get("properties"), dict) else {}
    if not props:
        return _("以 JSON 填写")
    keys = "、".join(f"{p.get('title') or k}（{k}）" if isinstance(p, dict) else k
                    for k, p in props.items())
    return _("以 JSON 填写，%(prefix)s包含：%(keys)s", prefix=prefix, keys=keys)


def _display(f, value):
    """A typed value (a schema default) as the input shows it."""
    if f.widget == "checklist":
        if isinstance(value, dict):
            return [k for k, v in value.items() if v]
        return [_as_text(v) for v in value] if isinstance(value, list) else []
    if f.widget == "boolean":
        return "true" if value else ""
    if f.widget == "lines":
        return "\n".join(_as_text(v) for v in value) if isinstance(value, list) else ""
    if f.widget == "rows":
        return [{c.name: _display(c, item[c.name]) for c in f.columns if c.name in item}
                for item in value if isinstance(item, dict)] if isinstance(value, list) else []
    if f.widget == "json":
        return json.dumps(value, ensure_ascii=False, indent=2)
    if f.widget == "datetime" and isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        if moment.tzinfo:
            moment = moment.astimezone(CHINA_TZ)
        return moment.strftime("%Y-%m-%dT%H:%M")
    return _as_text(value)


def keep_input(fields, form):
    """Show what the user submitted (after a refusal), exactly as typed."""
    for f in fields:
        if f.widget == "rows":
            f.value = [{c.name: _raw(c, form, _cell(f, index, c)) for c in f.columns}
                       for index in _row_indexes(f, form)]
        else:
            f.value = _raw(f, form, f.name)


def _raw(f, form, key):
    if f.widget == "checklist":
        return form.getlist(key)
    if f.widget == "boolean":
        return "true" if form.get(key) else ""
    return form.get(key, "")


def _cell(f, index, column):
    return f"{f.name}-{index}-{column.name}"


def _row_indexes(f, form):
    """The submitted rows of a table that hold anything, in their order on the page."""
    pattern = re.compile(rf"^{re.escape(f.name)}-(\d{{1,4}})-")
    indexes = sorted({int(m.group(1)) for key in form.keys() if (m := pattern.match(key))})
    return [i for i in indexes
            if any(str(v).strip() for c in f.columns for v in form.getlist(_cell(f, i, c)))]


_INT = re.compile(r"^[+-]?\d+$")


def _number(text, integer):
    text = text.strip().replace("，", "").replace(",", "")
    if _INT.match(text):
        return int(text)
    if integer:
        raise ValueError(_("请输入整数"))
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(_("请输入有效的数字"))
    return value


def _scalar(text, kind):
    if kind == "integer":
        return _number(text, True)
    if kind == "number":
        try:
            return _number(text, False)
        except ValueError as exc:
            raise ValueError(_("请输入数字")) from exc
    if kind == "boolean":
        return text.strip().lower() in ("true", "1", "on", "yes", "是")
    return text


def _datetime(text):
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValueError(_("请输入有效的日期时间")) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CHINA_TZ)  # what people type is Beijing time
    return moment.isoformat()


def convert(fields, form):
    """The submitted form as the schema's types: (data, {field: [messages]}).

    Empty inputs are left out (so the form's own validation says what is required); unticked
    boolean checkboxes are false and unticked checklists empty.
    """
    data, errors = {}, {}
    for f in fields:
        if f.widget == "rows":
            items = []
            for number, index in enumerate(_row_indexes(f, form)):
                item = {}
                for column in f.columns:
                    try:
                        value = _convert(column, form, _cell(f, index, column))
                    except ValueError as exc:
                        errors[f"{f.name}.{number}.{column.name}"] = [str(exc)]
                        continue
                    if value is not _MISSING:
                        item[column.name] = value
                items.append(item)
            if items or f.required:
                data[f.name] = items
            continue
        try:
            value = _convert(f, form)
        except ValueError as exc:
            errors[f.name] = [str(exc)]
            continue
        if value is not _MISSING:
            data[f.name] = value
    if len(fields) == 1 and fields[0].name == DATA_FIELD and fields[0].widget == "json" \
            and DATA_FIELD in data:
        payload = data[DATA_FIELD]  # no schema: the JSON object is the whole submission
        if not isinstance(payload, dict):
            errors[DATA_FIELD] = [_("必须是 JSON 对象，例如 %(example)s", example='{"意见": "同意"}')]
            return {}, errors
        return payload, errors
    return data, errors


_MISSING = object()


def _convert(f, form, key=None):
    key = key or f.name
    if f.widget == "checklist":
        ticked = form.getlist(key)
        if f.item_type == "object":
            return {value: value in ticked for value, _label, _typed in f.options}
        by_text = {text: typed for text, _label, typed in f.options}
        unknown = [t for t in ticked if t not in by_text]
        if unknown:
            raise ValueError(_("无效的选项: %(values)s", values="、".join(unknown)))
        return [by_text[t] for t in ticked]
    if f.widget == "boolean":
        return bool(form.get(key))
    text = form.get(key, "")
    if f.widget == "json":
        if not text.strip():
            return _MISSING
        try:
            return json.loads(text)
        except ValueError as exc:
            raise ValueError(_("不是有效的 JSON")) from exc
    if f.widget == "lines":
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        return [_scalar(line, f.item_type) for line in lines]
    if not text.strip():
        return _MISSING
    if f.widget == "select":
        by_text = {text_: typed for text_, _label, typed in f.options}
        if text not in by_text:
            raise ValueError(_("请从列表中选择"))
        return by_text[text]
    if f.widget in ("integer", "number"):
        return _scalar(text, f.widget)
    if f.widget == "datetime":
        return _datetime(text)
    if f.widget == "date":
        try:
            return datetime.strptime(text.strip(), "%Y-%m-%d").date().isoformat()
        except ValueError as exc:
            raise ValueError(_("请输入有效的日期（年-月-日）")) from exc
    return text


def attach_errors(fields, messages):
    """Put each field's messages beside it; return the ones that belong to no field."""
    by_name = {f.name: f for f in fields}
    general = []
    for name, texts in (messages or {}).items():
        texts = texts if isinstance(texts, list) else [texts]
        texts = [str(t) for t in texts]
        head = str(name).split(".", 1)[0]
        rest = str(name)[len(head) + 1:]
        cell = re.match(r"^(\d+)\.(\w+)$", rest)
        if name in by_name:
            by_name[name].errors.extend(texts)
        elif head in by_name and by_name[head].widget == "rows" and cell:
            by_name[head].cell_errors.setdefault((int(cell.group(1)), cell.group(2)), []).extend(texts)
        elif head in by_name and by_name[head].widget == "rows" and rest.isdigit():
            by_name[head].errors.extend(_("第 %(n)s 行：%(message)s", n=int(rest) + 1, message=t)
                                        for t in texts)
        elif head in by_name:
            by_name[head].errors.extend(f"{rest}: {t}" for t in texts)
        else:
            general.extend(texts if name in ("_schema", "data", "") else [f"{name}: {t}" for t in texts])
    return general
