"""Cases for the city and province demo scales: a sample through the engine, volume by copying.

The sample is real: rectifications and joint meetings started in generated compounds over the
past weeks and walked through the service layer on a manual clock, step by step in time order
(orders issued, reports submitted, verifications, deadlines passing, escalations to the street,
meetings held and minuted), then one tick up to now. Older cases are mostly closed, recent ones
open, as in an office that works.

A province needs thousands of cases, too many to walk one by one in minutes. Each sample case
is therefore copied into other compounds: every row of the case (the case with its workflow
state, its task, timer and message-wait projections, its audit events and deadline jobs) with
fresh ids put in consistently (the ids inside the workflow state too), the copy's compound and
area, and the audit hash chain recomputed for the copy. A copy is an ordinary case: it loads,
its timers fire and its tasks can be done. Outbox rows (notifications, e-mails) and documents
are not copied.
"""
import json
import random
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from types import SimpleNamespace

from sqlalchemy import insert, select

from engine import audit_chain
from engine.access import Principal
from engine.calendar import CHINA_TZ, add_working_days, is_working_day
from engine.clock import ManualClock
from engine.errors import EngineError
from engine.models import Base, EngineState, Organisation, TaskRow
from engine.service import Engine

SEED = 20220715  # the day of the provincial work plan
CLONED_TABLES = ("cases", "tasks", "timers", "message_waits", "events", "deadline_jobs")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
MARKER = "demo_cases:{scale}"
# How many weeks of history the sample covers, and how many copies of each sample case make
# the volume (province: about 9,000 rectifications and 7,000 joint meetings).
WEEKS = {"city": 6, "province": 26}
COPIES = {"city": {}, "province": {"rectification": 85, "joint_meeting": 180}}

PROBLEMS = [
    ("3号楼电梯近一个月困人两次，维保记录不全。", "complaint"),
    ("地下车库照明大面积损坏，排水沟堵塞积水。", "inspection"),
    ("小区消防通道被长期占用，消防栓无水。", "inspection"),
    ("生活垃圾清运不及时，垃圾桶满溢，异味严重。", "complaint"),
    ("单元门禁损坏两个月未修，外来人员随意进出。", "complaint"),
    ("绿化带大面积枯死，公共区域杂草丛生。", "evaluation"),
    ("二次供水水箱未按期清洗消毒，水质检测报告缺失。", "inspection"),
    ("物业服务收费公示内容与合同不符，公共收益未公开。", "evaluation"),
    ("楼道内堆放杂物，楼梯扶手锈蚀松动。", "complaint"),
    ("监控设备多处损坏，值班记录不全。", "evaluation"),
]
REQUIREMENTS = "一、立即组织排查，制定整改方案；二、在整改期限内整改到位并留存影像资料；三、整改完成后书面报送社区。"
REPORT = "已按整改要求完成维修和清理，相关影像资料和维修记录已留存备查。"
AGENDAS = [["通报本季度物业服务质量评议情况", "研究电梯维修和维修资金使用方案"],
           ["协调地下车库停车秩序管理", "研究垃圾分类和清运安排"],
           ["通报业主投诉处理情况", "研究公共收益公开和使用"]]


def _at(day, hour=10):
    return datetime.combine(day, time(hour), CHINA_TZ)


def _working(day, n):
    return add_working_days(day, n) if n else day


@dataclass
class Sample:
    """One sample case: where, when it starts, and its steps (working-day offset, action)."""

    process_id: str
    compound: object  # Organisation row
    start: object  # date
    steps: list
    case_id: str | None = None
    failed: str | None = None
    copies: int = 0
    extra: dict = field(default_factory=dict)


class Actors:
    """Principals of a compound's community, street and district, and of its company."""

    def __init__(self, session, compound):
        codes = [c for c in compound.path.strip("/").split("/") if c]
        nodes = {o.code: o for o in session.scalars(select(Organisation).where(Organisation.code.in_(codes)))}
        by_kind = {n.kind: n for n in nodes.values()}
        self.clerk = self._principal("demo.clerk", "clerk", by_kind.get("community"))
        self.street = self._principal("demo.street", "street", by_kind.get("street"))
        self.bureau = self._principal("demo.bureau", "bureau", by_kind.get("district"))
        enterprise = (compound.attributes or {}).get("enterprise_code")
        self.company = Principal("demo.company", "company", enterprise, f"{enterprise}/",
                                 (f"{enterprise}/", compound.path))

    @staticmethod
    def _principal(name, role, org):
        return Principal(name, role, org.code, org.path) if org is not None else None


# -- the plans ------------------------------------------------------------------------------

def _rectification_steps(variant):
    accepted = {"verification_result": "accepted", "verification_opinion": "经现场核查，整改到位。"}
    not_accepted = {"verification_result": "not_accepted",
                    "verification_opinion": "经现场核查，部分问题仍未整改到位，限期继续整改。"}
    refused = {"verification_result": "refused", "verification_opinion": "物业服务企业拒不整改。"}
    handle = {"regrade_service": True, "new_service_grade": "3", "new_fee_standard": 0.8,
              "fee_basis": "会同发展改革部门核定", "propose_dismissal": False,
              "street_opinion": "约谈企业负责人，重新核定服务等级和收费标准。"}
    dismiss = {"regrade_service": False, "propose_dismissal": True,
               "dismissal_grounds": "拒不整改，业主投诉强烈，不履行物业服务合同。",
               "street_opinion": "引导业主依法解聘物业服务企业。"}
    plans = {
        "issued": [(0, "issue")],
        "reported": [(0, "issue"), (5, "report")],
        "rectified": [(0, "issue"), (6, "report"), (8, ("verify", accepted))],
        "second_round": [(0, "issue"), (6, "report"), (8, ("verify", not_accepted))],
        "second_round_done": [(0, "issue"), (6, "report"), (8, ("verify", not_accepted)),
                              (14, "report"), (16, ("verify", accepted))],
        "overdue_open": [(0, "issue"), (16, "tick")],
        "overdue_handled": [(0, "issue"), (16, "tick"), (19, ("street", handle))],
        "refused_dismissal": [(0, "issue"), (5, "report"), (7, ("verify", refused)),
                              (10, ("street", dismiss))],
        "manual_escalation": [(0, "issue"), (4, "escalate")],
    }
    return plans[variant]


def _meeting_steps(variant):
    plans = {
        "convened": [],
        "notified": [(1, "notice")],
        "follow_up": [(1, "notice"), (5, "tick"), (5, "minutes"), (6, "publicize")],
        "closed": [(1, "notice"), (5, "tick"), (5, "minutes"), (6, "publicize"), (12, "follow_up")],
    }
    return plans[variant]


def _variants(age_weeks):
    """(rectification variants, meeting variants) for samples started `age_weeks` ago."""
    if age_weeks >= 6:
        return (["rectified", "second_round_done", "overdue_handled", "refused_dismissal",
                 "rectified"], ["closed"])
    if age_weeks >= 3:
        return (["rectified", "second_round", "overdue_open", "manual_escalation"],
                ["follow_up", "closed"])
    return (["issued", "reported"] + (["rectified"] if age_weeks >= 2 else []),
            ["convened", "notified"])


def plan_samples(session, scale, today, rng):
    """The sample cases of the scale, spread over the past weeks and the scale's compounds."""
    managed = session.scalars(select(Organisation).where(
        Organisation.kind == "compound", Organisation.code.like("C14%"))
        .order_by(Organisation.code)).all()
    managed = [c for c in managed if (c.attributes or {}).get("management_type") == "enterprise"
               and (c.attributes or {}).get("enterprise_code")]
    if scale == "city":
        managed = [c for c in managed if c.path.startswith("14/1405/")]
    samples = []
    for age in range(WEEKS[scale], 0, -1):
        monday = today - timedelta(days=today.weekday() + 7 * age)
        rectifications, meetings = _variants(age)
        for index, variant in enumerate(rectifications):
            start = _first_working(monday + timedelta(days=index % 5))
            samples.append(Sample("rectification", rng.choice(managed), start,
                                  _rectification_steps(variant), extra={"variant": variant}))
        for index, variant in enumerate(meetings):
            start = _first_working(monday + timedelta(days=(index * 2) % 5))
            samples.append(Sample("joint_meeting", rng.choice(managed), start,
                                  _meeting_steps(variant), extra={"variant": variant}))
    return samples, managed


def _first_working(day):
    while not is_working_day(day):
        day += timedelta(days=1)
    return day


# -- walking the samples through the engine -------------------------------------------------

class Walker:
    """Runs the samples' steps in time order on a manual clock, with the app engine's forms,
    handlers and scheduler, over the same database."""

    def __init__(self, eng, rng):
        self.clock = ManualClock(eng.clock.now())
        self.sim = Engine(eng.db, self.clock, eng.forms, eng.handlers)
        self.sim.scheduler = eng.scheduler
        self.rng = rng
        self.actors = {}

    def _actors(self, sample):
        if sample.compound.code not in self.actors:
            with self.sim.db.unit_of_work(write=False) as session:
                self.actors[sample.compound.code] = Actors(session, sample.compound)
        return self.actors[sample.compound.code]

    def run(self, samples, now, progress):
        events = []
        for number, sample in enumerate(samples):
            events.append((_at(sample.start, 9), number, -1, "start"))
            ticked = set()
            for offset, action in sample.steps:
                # A tick at noon (after a 09:30 meeting); what follows it that day, in the afternoon.
                hour = 12 if action == "tick" else (15 if offset in ticked else 10)
                if action == "tick":
                    ticked.add(offset)
                events.append((_at(_working(sample.start, offset), hour), number, offset, action))
        events.sort(key=lambda e: (e[0], e[1], e[2]))
        progress.start("案件样本", len(events) + 1)
        for moment, number, _offset, action in events:
            sample = samples[number]
            progress.advance()
            if moment > now or sample.failed or (sample.case_id is None and action != "start"):
                continue
            self.clock.set(moment)
            try:
                self._step(sample, moment, action)
            except EngineError as exc:  # a step the case no longer offers: stop that sample
                sample.failed = exc.message
        self.sim.tick(now, strict=False)
        progress.advance()
        progress.finish()

    def _step(self, sample, moment, action):
        actors = self._actors(sample)
        if action == "start":
            sample.case_id = self.sim.start_case(actors.clerk, sample.process_id,
                                                 self._start_data(sample, moment),
                                                 sample.compound.code).id
            return
        if action == "tick":
            self.sim.tick(moment, strict=False)
            return
        if action == "escalate":
            task = self._task(sample, "submit_report")
            self.sim.escalate_task(actors.street, task.id, "物业服务企业未按要求整改，监管人员上报街道")
            return
        name, data, actor = self._task_data(sample, action, moment, actors)
        self.sim.complete_task(actor, self._task(sample, name).id, data)

    def _task(self, sample, name):
        with self.sim.db.unit_of_work(write=False) as session:
            task = session.scalar(select(TaskRow).where(
                TaskRow.case_id == sample.case_id, TaskRow.name == name, TaskRow.state == "ready"))
        if task is None:
            raise StepUnavailable(f"案件 {sample.case_id} 没有待办的 {name}")
        return task

    def _start_data(self, sample, moment):
        if sample.process_id == "rectification":
            problem, source = self.rng.choice(PROBLEMS)
            return {"problem_description": problem, "source": source,
                    "source_reference": f"JC-{moment:%Y%m%d}-{self.rng.randint(100, 999)}"}
        meeting = _at(_working(moment.date(), 5), 9) + timedelta(minutes=30)
        return {"meeting_type": "regular", "meeting_at": meeting.isoformat(),
                "location": "社区党群服务中心会议室", "agenda": self.rng.choice(AGENDAS)}

    def _task_data(self, sample, action, moment, actors):
        day = moment.date().isoformat()
        kind, data = action if isinstance(action, tuple) else (action, None)
        if kind == "issue":
            return "issue_order", {"order_no": f"整改〔{moment.year}〕{self.rng.randint(1, 300)}号",
                                   "requirements": REQUIREMENTS}, actors.clerk
        if kind == "report":
            return "submit_report", {"report": REPORT, "completed_on": day}, actors.company
        if kind == "verify":
            return "verify", {**data, "verified_on": day}, actors.clerk
        if kind == "street":
            return "street_handle", data, actors.street
        if kind == "notice":
            return "send_notice", {"notified_parties": ["residents_committee", "owners_committee",
                                                        "company", "street"],
                                   "notice_method": "written", "notified_on": day}, actors.clerk
        if kind == "minutes":
            deadline = add_working_days(moment.date(), 10).isoformat()
            return "record_minutes", {
                "held_on": day, "minutes": "会议通报了物业服务情况，三方就议题充分协商，形成决议。",
                "attendance": [{"party": "residents_committee", "expected": 2, "present": 2},
                               {"party": "owners_committee", "expected": 5, "present": 4},
                               {"party": "company", "expected": 2, "present": 2}],
                "resolutions": [{"content": "物业服务企业按会议要求完成维修并报业委会", "owner_party": "company",
                                 "deadline": deadline}]}, actors.clerk
        if kind == "publicize":
            return "publicize_minutes", {"publicized_on": day,
                                         "publicity_locations": "小区公告栏、业主微信群"}, actors.clerk
        if kind == "follow_up":
            return "follow_up", {"progress": [{"number": 1, "done": True,
                                               "result": "已完成维修并经业委会确认"}]}, actors.clerk
        raise ValueError(f"unknown demo step {action!r}")


class StepUnavailable(EngineError):
    code = "conflict"
    status = 409


# -- copying --------------------------------------------------------------------------------

def _tables():
    return [(name, Base.metadata.tables[name]) for name in CLONED_TABLES if name in Base.metadata.tables]


def _rows_of(session, case_id):
    rows = {}
    for name, table in _tables():
        key = table.c.id if name == "cases" else table.c.case_id
        rows[name] = [dict(r._mapping) for r in session.execute(
            select(table).where(key == case_id).order_by(*table.primary_key.columns))]
    return rows


def _remap(value, new_id):
    if isinstance(value, str):
        return UUID.sub(new_id, value) if "-" in value else value
    if isinstance(value, (dict, list)):
        text = json.dumps(value, ensure_ascii=False)
        return json.loads(UUID.sub(new_id, text)) if UUID.search(text) else value
    return value


def _copy(rows, compound):
    """The rows of one copy of a case in `compound`: new ids everywhere, chain recomputed."""
    mapping = {}

    def new_id(match):
        old = match.group(0)
        if old not in mapping:
            mapping[old] = str(uuid.uuid4())
        return mapping[old]

    out = {}
    for name, items in rows.items():
        copied = []
        for row in items:
            item = {}
            for column, value in row.items():
                if column == "id" and name not in ("cases", "tasks"):
                    continue  # autoincrement keys: the database gives new ones
                item[column] = _remap(value, new_id)
            if name in ("cases", "tasks"):
                item["compound"], item["org_path"] = compound.code, compound.path
            copied.append(item)
        out[name] = copied
    head = audit_chain.GENESIS
    for event in out.get("events", []):
        if "hash" in event:
            event["prev_hash"] = head
            event["hash"] = head = audit_chain.event_hash(SimpleNamespace(**event), head)
    if out.get("events") and "audit_head" in out["cases"][0]:
        out["cases"][0]["audit_head"] = head or None
    return out


def copy_samples(eng, samples, targets, scale, rng, progress):
    """Copy each sample of a process with copies into random compounds of `targets`."""
    copies = COPIES[scale]
    wanted = [s for s in samples if s.case_id and copies.get(s.process_id)]
    progress.start("批量案件", sum(copies[s.process_id] for s in wanted))
    for sample in wanted:
        count = copies[sample.process_id]
        with eng.db.unit_of_work() as session:
            rows = _rows_of(session, sample.case_id)
            batch = {name: [] for name in rows}
            for compound in rng.sample(targets, min(count, len(targets))):
                for name, items in _copy(rows, compound).items():
                    batch[name].extend(items)
            for name, table in _tables():
                items = batch.get(name) or []
                for start in range(0, len(items), 500):
                    session.execute(insert(table), items[start:start + 500])
        sample.copies = count
        progress.advance(count)
    progress.finish()


def load_scale_cases(eng, scale, progress):
    """The scale's cases, once: the sample through the engine, then the copies."""
    key = MARKER.format(scale=scale)
    with eng.db.unit_of_work(write=False) as session:
        if session.get(EngineState, key) is not None:
            return None
        processes = {row[0] for row in session.execute(
            select(Base.metadata.tables["process_definitions"].c.process_id))}
    if not {"rectification", "joint_meeting"} <= processes:
        return None  # the bundled processes are not deployed (`linkage init` deploys them)
    rng = random.Random(SEED)
    now = eng.clock.now()
    today = now.astimezone(CHINA_TZ).date()
    with eng.db.unit_of_work(write=False) as session:
        samples, targets = plan_samples(session, scale, today, rng)
    Walker(eng, rng).run(samples, now, progress)
    copy_samples(eng, samples, targets, scale, rng, progress)
    with eng.db.unit_of_work() as session:
        session.add(EngineState(key=key, value=now.isoformat()))
    started = [s for s in samples if s.case_id]
    return {"sample": len(started), "copies": sum(s.copies for s in started),
            "stopped": [s.failed for s in samples if s.failed]}
