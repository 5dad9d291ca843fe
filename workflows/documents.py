"""Printable PDFs made from a case's data: the rectification notice (整改通知书), the publicity
notice (公示) and the joint meeting minutes (联席会议纪要).

Text is set in ReportLab's built-in CID font STSong-Light (Adobe-GB1), which every PDF reader
has and which needs no font file, so the documents are small and their text can be searched
and extracted. A document is kept with its case (`GeneratedDocument`) together with the case
revision it was made from: asked for again, the same PDF is served until the case changes, so a
notice that was printed and posted can be shown again exactly as it was.

A kind of document belongs to certain processes and exists once the case has the data it
needs: the notice after the order was issued, the minutes after they were recorded, the
publicity notice once a publicity was posted (a publicity case, or a joint meeting's minutes).
"""
import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from io import BytesIO
from types import SimpleNamespace
from xml.sax.saxutils import escape

from sqlalchemy import select

from engine.calendar import CHINA_TZ
from engine.errors import Conflict, NotFound
from engine.models import Organisation
from workflows.models import GeneratedDocument

FONT = "STSong-Light"


@lru_cache(maxsize=1)
def _kit():
    """ReportLab, its CID font and our paragraph styles, loaded on first use: the process
    modules of `workflows` are imported at start-up, and most runs never print."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER, TA_JUSTIFY, TA_LEFT, TA_RIGHT
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import (HRFlowable, KeepTogether, Paragraph, SimpleDocTemplate,
                                    Spacer, Table, TableStyle)

    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    red = colors.HexColor("#c00000")

    def style(name, size, leading, **extra):
        return ParagraphStyle(name, fontName=FONT, fontSize=size, leading=leading, **extra)

    styles = {
        "issuer": style("issuer", 24, 32, alignment=TA_CENTER, textColor=red),
        "title": style("title", 20, 30, alignment=TA_CENTER, spaceBefore=6, spaceAfter=4),
        "number": style("number", 12, 20, alignment=TA_CENTER),
        "body": style("body", 14, 25, alignment=TA_JUSTIFY, firstLineIndent=28, wordWrap="CJK"),
        "plain": style("plain", 14, 25, alignment=TA_LEFT, wordWrap="CJK"),
        "heading": style("heading", 15, 26, spaceBefore=6, wordWrap="CJK"),
        "cell": style("cell", 11, 16, wordWrap="CJK"),
        "sign": style("sign", 14, 25, alignment=TA_RIGHT),
        "small": style("small", 11, 18, wordWrap="CJK"),
    }
    return SimpleNamespace(colors=colors, A4=A4, mm=mm, red=red, styles=styles,
                           HRFlowable=HRFlowable, KeepTogether=KeepTogether, Paragraph=Paragraph,
                           SimpleDocTemplate=SimpleDocTemplate, Spacer=Spacer, Table=Table,
                           TableStyle=TableStyle)


SOURCE_LABELS = {"inspection": "日常巡查检查", "evaluation": "评议考评", "complaint": "业主投诉"}
MEETING_TYPES = {"regular": "定期会议", "ad_hoc": "临时会议"}
PARTIES = {"residents_committee": "居（村）民委员会", "owners_committee": "业主委员会（物业管理委员会）",
           "company": "物业服务企业", "street": "街道办事处（乡镇）", "other": "其他单位"}


@dataclass(frozen=True)
class DocumentKind:
    kind: str
    title: str
    processes: tuple


KINDS = {
    "rectification_notice": DocumentKind("rectification_notice", "整改通知书", ("rectification",)),
    "publicity_notice": DocumentKind("publicity_notice", "公示", ("publicity", "joint_meeting")),
    "meeting_minutes": DocumentKind("meeting_minutes", "联席会议纪要", ("joint_meeting",)),
}


# -- what a case offers ---------------------------------------------------------------------

def _publicity_ready(case):
    data = case.data or {}
    if case.process_id == "joint_meeting":
        return bool(data.get("publicized_on") and data.get("minutes"))
    return bool(data.get("content") and _first(data, POSTED_KEYS))


READY = {
    "rectification_notice": lambda case: bool((case.data or {}).get("requirements")),
    "meeting_minutes": lambda case: bool((case.data or {}).get("minutes")),
    "publicity_notice": _publicity_ready,
}
NOT_READY = {
    "rectification_notice": "整改通知尚未下达，还没有整改通知书",
    "meeting_minutes": "会议纪要尚未记录",
    "publicity_notice": "尚未公示",
}


def available(case):
    """The kinds of document this case has now, with their titles, in a stable order."""
    return [(kind, spec.title) for kind, spec in KINDS.items()
            if case.process_id in spec.processes and READY[kind](case)]


def stored(session, case_id):
    """The documents kept with a case (whatever their revision)."""
    return session.scalars(select(GeneratedDocument).where(GeneratedDocument.case_id == case_id)
                           .order_by(GeneratedDocument.kind)).all()


def document(session, case, kind, actor, now):
    """The case's document of `kind`: the kept one if the case has not changed since, else a
    new one made now and kept. Raises `NotFound` for a kind the process has not, `Conflict`
    when the case does not have the data yet."""
    spec = KINDS.get(kind)
    if spec is None or case.process_id not in spec.processes:
        raise NotFound("该案件没有这种文书")
    if not READY[kind](case):
        raise Conflict(NOT_READY[kind])
    row = session.scalar(select(GeneratedDocument).where(GeneratedDocument.case_id == case.id,
                                                          GeneratedDocument.kind == kind))
    if row is not None and row.case_revision == case.version:
        return row
    content = render(session, case, kind)
    values = {"title": document_title(case, kind), "case_revision": case.version,
              "content": content, "sha256": hashlib.sha256(content).hexdigest(),
              "generated_at": now, "generated_by": actor}
    if row is None:
        row = GeneratedDocument(case_id=case.id, kind=kind, **values)
        session.add(row)
    else:
        for key, value in values.items():
            setattr(row, key, value)
    session.flush()
    return row


def document_title(case, kind):
    data = case.data or {}
    if kind == "publicity_notice" and case.process_id == "joint_meeting":
        return f"关于{data.get('title') or case.title}纪要的公示"
    if kind == "publicity_notice":
        return str(data.get("title") or case.title or "公示")
    return f"{KINDS[kind].title}：{case.title}"


# -- rendering ------------------------------------------------------------------------------

@dataclass
class Places:
    """The names a document needs: the compound, its community and street, its enterprise."""

    compound: str = ""
    community: str = ""
    street: str = ""
    enterprise: str = ""


def places_of(session, case):
    places = Places()
    org = session.get(Organisation, case.compound) if case.compound else None
    path = org.path if org is not None else (case.org_path or "")
    codes = [c for c in path.strip("/").split("/") if c]
    if codes:
        named = {o.code: o for o in session.scalars(select(Organisation).where(Organisation.code.in_(codes)))}
        for code in codes:
            node = named.get(code)
            if node is not None and node.kind in ("community", "street", "compound"):
                setattr(places, node.kind, node.name)
    if org is not None:
        places.compound = org.name
        enterprise_code = (org.attributes or {}).get("enterprise_code")
        enterprise = session.get(Organisation, enterprise_code) if enterprise_code else None
        if enterprise is not None:
            places.enterprise = enterprise.name
    return places


def render(session, case, kind):
    """The PDF bytes of the case's document of `kind`, from its data as it is now."""
    places = places_of(session, case)
    builders = {"rectification_notice": _rectification_notice, "meeting_minutes": _minutes,
                "publicity_notice": _publicity}
    story = builders[kind](case, case.data or {}, places)
    buffer = BytesIO()
    title = document_title(case, kind)
    k, mm = _kit(), _kit().mm
    doc = k.SimpleDocTemplate(buffer, pagesize=k.A4, leftMargin=28 * mm, rightMargin=26 * mm,
                              topMargin=30 * mm, bottomMargin=25 * mm, title=title,
                              author=places.community or places.street or "三方联动",
                              subject=KINDS[kind].title, creator="Linkage 三方联动")
    doc.build(story, onFirstPage=_page_number, onLaterPages=_page_number)
    return buffer.getvalue()


def _page_number(canvas, doc):
    canvas.saveState()
    canvas.setFont(FONT, 10)
    canvas.drawCentredString(_kit().A4[0] / 2, 14 * _kit().mm, f"— {doc.page} —")
    canvas.restoreState()


def _text(value):
    """User text as a paragraph's markup: escaped, line breaks kept."""
    return escape(str(value if value is not None else "")).replace("\n", "<br/>")


def _p(text, style="body"):
    return _kit().Paragraph(text, _kit().styles[style])


def chinese_date(value):
    """2026-03-23 (or a datetime, or ISO text) as 2026年3月23日; '' for nothing."""
    if not value:
        return ""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value[:10])
        except ValueError:
            return value
    if isinstance(value, datetime):
        value = value.astimezone(CHINA_TZ) if value.tzinfo else value
        return f"{value.year}年{value.month}月{value.day}日{value.hour:02d}:{value.minute:02d}"
    return f"{value.year}年{value.month}月{value.day}日"


def _header(issuer, title, number=None):
    k, mm = _kit(), _kit().mm
    parts = []
    if issuer:
        parts += [_p(_text(issuer), "issuer"), k.Spacer(1, 2 * mm),
                  k.HRFlowable(width="100%", thickness=1.5, color=k.red, spaceAfter=6 * mm)]
    parts.append(_p(_text(title), "title"))
    if number:
        parts.append(_p(_text(number), "number"))
    parts.append(k.Spacer(1, 4 * mm))
    return parts


def _signature(issuer, day):
    k = _kit()
    return k.KeepTogether([k.Spacer(1, 10 * k.mm), _p(_text(issuer or ""), "sign"),
                         _p(_text(chinese_date(day)), "sign")])


def _table(header, rows, widths):
    data = [[_p(_text(h), "cell") for h in header]]
    data += [[_p(_text(c), "cell") for c in row] for row in rows]
    k = _kit()
    table = k.Table(data, colWidths=[w * k.mm for w in widths], repeatRows=1)
    table.setStyle(k.TableStyle([
        ("GRID", (0, 0), (-1, -1), 0.6, k.colors.black),
        ("BACKGROUND", (0, 0), (-1, 0), k.colors.HexColor("#eeeeee")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]))
    return table


def _rectification_notice(case, data, places):
    issuer = places.community or places.street
    source = data.get("source_label") or SOURCE_LABELS.get(data.get("source"), "检查")
    reference = f"（{data['source_reference']}）" if data.get("source_reference") else ""
    story = _header(issuer, "整改通知书", data.get("order_no"))
    story.append(_p(_text(f"{places.enterprise or '物业服务企业'}："), "plain"))
    story.append(_p(_text(f"经{source}{reference}发现，你单位提供物业服务的"
                          f"{places.compound or '小区'}存在以下问题：")))
    story.append(_p(_text(data.get("problem_description", ""))))
    round_no = int(data.get("rectification_round") or 1)
    if round_no > 1 and data.get("verification_opinion"):
        story.append(_p(_text(f"经核查，上一次整改未到位：{data['verification_opinion']}")))
    story.append(_p(_text("根据三方联动机制和物业服务合同的约定，现通知你单位按以下要求进行整改：")))
    story.append(_p(_text(data.get("requirements", ""))))
    deadline = chinese_date(data.get("rectification_deadline"))
    period = data.get("deadline_working_days")
    started = chinese_date(data.get("rectification_started_on"))
    within = f"（自{started}起{period}个工作日内）" if started and period else ""
    reported_to = issuer or "社区"
    story.append(_p(_text(
        f"请于{deadline or '期限届满'}前{within}整改完毕，并将整改情况书面报送{reported_to}。"
        f"逾期未整改或拒不整改的，将上报{places.street or '街道办事处（乡镇）'}，"
        "重新核定小区物业服务等级和相应收费标准；涉及违法违规行为的，移送有关部门依法处理。")))
    if round_no > 1:
        story.append(_p(_text(f"（本通知为第{round_no}次整改通知）")))
    story.append(_signature(issuer, data.get("rectification_started_on")))
    copies = "、".join(x for x in (places.street, f"{places.compound}业主委员会" if places.compound else "") if x)
    if copies:
        k = _kit()
        story += [k.Spacer(1, 8 * k.mm), k.HRFlowable(width="100%", thickness=0.6, color=k.colors.black),
                  _p(_text(f"抄送：{copies}"), "small")]
    return story


def _attendance_rows(data):
    return [[PARTIES.get(row.get("party"), row.get("party", "")), row.get("expected", ""),
             row.get("present", ""), row.get("names") or ""] for row in data.get("attendance") or []]


def _resolution_rows(data):
    rows = []
    for item in data.get("resolutions") or []:
        state = "已落实" if item.get("done") else "落实中"
        if item.get("result"):
            state += f"：{item['result']}"
        rows.append([item.get("number", ""), item.get("content", ""),
                     item.get("owner_party_label") or PARTIES.get(item.get("owner_party"), ""),
                     chinese_date(item.get("deadline")), state])
    return rows


def _meeting_facts(data, places):
    kind = MEETING_TYPES.get(data.get("meeting_type"), data.get("meeting_type") or "")
    if data.get("meeting_type") == "ad_hoc":
        kind += f"（提议方：{PARTIES.get(data.get('requested_by'), data.get('requested_by') or '')}；" \
                f"事由：{data.get('request_reason') or ''}）"
    facts = [("会议类型", kind), ("会议时间", chinese_date(data.get("meeting_at"))),
             ("召开日期", chinese_date(data.get("held_on"))), ("会议地点", data.get("location") or ""),
             ("召集单位", places.community or places.street), ("涉及小区", places.compound)]
    return [_p(f"{label}：{_text(value)}", "plain") for label, value in facts if value]


def _minutes(case, data, places):
    issuer = places.community or places.street
    story = _header(issuer, f"{data.get('title') or case.title}纪要")
    story += _meeting_facts(data, places)
    story.append(_p("出席情况", "heading"))
    story.append(_table(["单位", "应到", "实到", "参会人员"], _attendance_rows(data), [60, 18, 18, 60]))
    agenda = data.get("agenda") or []
    if agenda:
        story.append(_p("会议议题", "heading"))
        story += [_p(_text(f"{i}. {item}"), "plain") for i, item in enumerate(agenda, 1)]
    story.append(_p("会议纪要", "heading"))
    story.append(_p(_text(data.get("minutes", ""))))
    story.append(_p("会议决议", "heading"))
    rows = _resolution_rows(data)
    if rows:
        story.append(_table(["序号", "决议内容", "责任方", "完成期限", "落实情况"], rows,
                            [12, 56, 32, 30, 26]))
    else:
        story.append(_p("本次会议未形成需跟进落实的决议。"))
    story.append(_signature(issuer, data.get("held_on")))
    return story


# The publicity process's data (`workflows.publicity`): posted on, period end, where.
POSTED_KEYS = ("posted_on", "publicized_on")
ENDS_KEYS = ("publicity_ends_on", "ends_on")
LOCATION_KEYS = ("locations", "publicity_locations")


def _first(data, keys):
    return next((data[k] for k in keys if data.get(k)), None)


def _violations(data):
    lines = []
    for number, item in enumerate(data.get("violations") or [], 1):
        if isinstance(item, dict):
            found = f"（{chinese_date(item.get('found_on'))}发现）" if item.get("found_on") else ""
            lines.append(f"{number}. {item.get('description', '')}{found}")
        else:
            lines.append(f"{number}. {item}")
    return lines


def _publicity(case, data, places):
    issuer = places.community or places.street
    if case.process_id == "joint_meeting":
        return _meeting_publicity(case, data, places, issuer)
    from workflows.publicity import CHANNELS
    from workflows.rules.publicity import ADDRESSEES, KINDS as PUBLICITY_KINDS
    kind = data.get("kind_label") or PUBLICITY_KINDS.get(data.get("kind"), "")
    story = _header(issuer, data.get("title") or case.title or "公示", kind and f"（{kind}）")
    addressees = data.get("addressee_labels") or [ADDRESSEES.get(a, a) for a in data.get("addressees") or []]
    if addressees:
        story.append(_p(_text("、".join(addressees) + "："), "plain"))
    if data.get("covers_from") or data.get("covers_to"):
        covers = f"{chinese_date(data.get('covers_from'))}至{chinese_date(data.get('covers_to'))}"
        story.append(_p(_text(f"所属期间：{covers}"), "plain"))
    if data.get("enterprise_name"):
        story.append(_p(_text(f"被通报企业：{data['enterprise_name']}"), "plain"))
    story.append(_p(_text(data.get("content", ""))))
    violations = _violations(data)
    if violations:
        story.append(_p("违规行为", "heading"))
        story += [_p(_text(line), "plain") for line in violations]
    if data.get("basis"):
        story.append(_p(_text(f"依据：{data['basis']}")))
    posted, ends = _first(data, POSTED_KEYS), _first(data, ENDS_KEYS)
    period = f"公示期：{chinese_date(posted)}至{chinese_date(ends)}。" if ends else \
        f"公示日期：{chinese_date(posted)}。"
    story.append(_p(_text(period + "公示期内如有异议，请以书面形式向"
                          f"{issuer or '社区'}反映，并写明理由和联系方式。")))
    channels = [CHANNELS.get(c, c) for c in data.get("channels") or []]
    locations = _first(data, LOCATION_KEYS)
    where = "；".join(x for x in ("、".join(channels), locations if isinstance(locations, str) else "") if x)
    if where:
        story.append(_p(_text(f"公示方式和位置：{where}")))
    story.append(_signature(issuer, posted))
    return story


def _meeting_publicity(case, data, places, issuer):
    title = data.get("title") or case.title
    story = _header(issuer, f"关于{title}纪要的公示")
    story.append(_p(_text(f"根据三方联动联席会议制度，现将{chinese_date(data.get('held_on'))}召开的"
                          f"联席会议纪要和决议公示如下：")))
    story += _meeting_facts(data, places)
    story.append(_p("会议纪要", "heading"))
    story.append(_p(_text(data.get("minutes", ""))))
    rows = _resolution_rows(data)
    if rows:
        story.append(_p("会议决议", "heading"))
        story.append(_table(["序号", "决议内容", "责任方", "完成期限", "落实情况"], rows,
                            [12, 56, 32, 30, 26]))
    ends = data.get("publicity_ends_on")
    period = f"公示期自{chinese_date(data.get('publicized_on'))}起" + \
        (f"至{chinese_date(ends)}止" if ends else "") + "。"
    story.append(_p(_text(period + f"公示期内，业主如有异议，请以书面形式向{issuer or '社区'}反映。")))
    if data.get("publicity_locations"):
        story.append(_p(_text(f"公示地点：{data['publicity_locations']}")))
    story.append(_signature(issuer, data.get("publicized_on")))
    return story
