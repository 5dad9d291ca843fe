"""Deploying BPMN files: parse, validate, store a content-addressed version.

A definition that cannot run is refused here, with the element id and the reason, rather than
failing a case later: scripts and conditions that the restricted environment would refuse, timer
expressions that are neither ISO 8601 nor an expression, call activities whose process is
unknown, and whatever SpiffWorkflow's own parser refuses. A file is refused whole: nothing of it
is stored unless every process in it is valid.
"""
import hashlib
import threading
from dataclasses import dataclass
from datetime import datetime, timezone

from lxml import etree
from sqlalchemy import func, select
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.mixins.script_task import ScriptEngineTask
from SpiffWorkflow.specs.MultiChoice import MultiChoice

from engine import timers
from engine.errors import DeploymentRefused, NotFound
from engine.models import ProcessDefinition
from engine.scripts import check_source
from engine.spiff import BpmnFileRefused, LinkageParser, read_xml

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
LINKAGE_NS = "urn:linkage:bpmn:1"
NS = {"bpmn": BPMN_NS}
ACTIVITY_TAGS = {"task", "userTask", "manualTask", "scriptTask", "serviceTask", "sendTask",
                 "receiveTask", "businessRuleTask", "callActivity", "subProcess", "transaction"}
HUMAN_TAGS = {"userTask", "manualTask"}


@dataclass
class Deployed:
    process_id: str
    name: str
    version: int
    definition_id: int
    created: bool


def _attr(node, name):
    return node.get(f"{{{CAMUNDA_NS}}}{name}") or node.get(f"{{{LINKAGE_NS}}}{name}")


def _split(value):
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def element_meta(tree, process_id):
    """What SpiffWorkflow does not keep: per element its tag, Chinese name, lane, and for human
    tasks the candidate groups, assignee, due expression and form key."""
    process = tree.find(f".//bpmn:process[@id='{process_id}']", NS)
    lanes = {}
    for lane in process.iterfind(".//bpmn:lane", NS):
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            lanes[(ref.text or "").strip()] = lane.get("name") or lane.get("id")
    meta = {}
    for node in process.iter():
        if not isinstance(node.tag, str) or node.get("id") is None:
            continue
        tag = etree.QName(node).localname
        if tag in ("lane", "laneSet", "sequenceFlow", "process", "flowNodeRef"):
            continue
        entry = {"tag": tag, "name": node.get("name") or node.get("id"),
                 "lane": lanes.get(node.get("id"))}
        if tag == "startEvent":
            started_by = _message_name(tree, node)
            if started_by:
                entry["message"] = started_by
        if tag in HUMAN_TAGS:
            entry.update(candidate_groups=_split(_attr(node, "candidateGroups")),
                         assignee=_attr(node, "assignee"), due=_attr(node, "dueDate"),
                         form_key=_attr(node, "formKey"))
        meta[node.get("id")] = entry
    return meta


def _message_name(tree, node):
    """The name of the message a (start) event catches, if it catches one."""
    definition = node.find("bpmn:messageEventDefinition", NS)
    if definition is None:
        return None
    ref = definition.get("messageRef")
    message = tree.find(f".//bpmn:message[@id='{ref}']", NS) if ref else None
    return (message.get("name") or ref) if message is not None else ref


def message_starts(definition):
    """The message names that start a new case of this process version."""
    return [m["message"] for m in definition.task_meta.values()
            if m.get("tag") == "startEvent" and m.get("message")]


def _start_form(tree, process_id):
    process = tree.find(f".//bpmn:process[@id='{process_id}']", NS)
    for start in process.iterfind("bpmn:startEvent", NS):
        if _attr(start, "formKey"):
            return _attr(start, "formKey")
    return None


def _check_timer_expression(expression):
    """Reasons why a timer (or due date) expression cannot work."""
    text = (expression or "").strip()
    if not text:
        return ["定时器表达式为空"]
    wrapped = timers.literal_or_expression(text)
    if wrapped != text:  # an ISO 8601 literal: it must parse
        try:
            timers.validate_literal(text)
        except Exception as exc:  # noqa: BLE001 - any parse failure is the modeler's error
            return [f"无效的 ISO 8601 时间表达式 {text}: {exc}"]
        return []
    if text[:1] in "PR" and text.replace("/", "").isalnum():
        return [f"无效的 ISO 8601 时间表达式: {text}"]
    return check_source(text, "eval")


def validate_spec(spec, subprocess_specs, meta):
    """Every problem of a parsed process as {element id: [reasons]}."""
    problems = {}

    def add(element, reasons):
        if reasons:
            problems.setdefault(element or spec.name, []).extend(reasons)

    for each in [spec, *subprocess_specs.values()]:
        for task_spec in each.task_specs.values():
            element = getattr(task_spec, "bpmn_id", None) or task_spec.name
            if isinstance(task_spec, ScriptEngineTask) and getattr(task_spec, "script", None):
                add(element, check_source(task_spec.script, "exec"))
            if isinstance(task_spec, MultiChoice):
                for condition, _ in task_spec.cond_task_specs:
                    if condition is not None and getattr(condition, "args", None):
                        add(element, check_source(condition.args[0], "eval"))
            for definition in timers.timer_definitions(getattr(task_spec, "event_definition", None)):
                add(element, _check_timer_expression(definition.source_expression))
    for element, entry in meta.items():
        if entry.get("due"):
            add(element, _check_timer_expression(entry["due"]))
    return problems


class SpecCache:
    """Parsed specs by definition id. Definitions never change, so entries never go stale."""

    def __init__(self):
        self._specs = {}
        self._lock = threading.Lock()

    def get(self, session, definition):
        found = self._specs.get(definition.id)
        if found is None:
            parser = LinkageParser()
            parser.add_bpmn_bytes(definition.bpmn_xml.encode("utf-8"), definition.file_name)
            for dep_id in definition.dependency_ids:
                dep = session.get(ProcessDefinition, dep_id)
                parser.add_bpmn_bytes(dep.bpmn_xml.encode("utf-8"), dep.file_name)
            found = parser.linkage_specs(definition.process_id)
            with self._lock:
                self._specs[definition.id] = found
        return found


def _executable_ids(tree):
    return [p.get("id") for p in tree.iterfind(".//bpmn:process", NS)
            if p.get("isExecutable", "true").lower() != "false"]


def _called_ids(tree):
    return {c.get("calledElement") for c in tree.iterfind(".//bpmn:callActivity", NS)
            if c.get("calledElement")}


def latest(session, process_id):
    return session.scalars(select(ProcessDefinition)
                           .where(ProcessDefinition.process_id == process_id)
                           .order_by(ProcessDefinition.version.desc()).limit(1)).first()


def definition_id(session, process_id, version=None):
    """The id of a process's deployed version (the latest by default), or NotFound.

    Only the id is read: starting a case takes the definition itself from the runtime's
    cache (a deployed version never changes), not its row with the whole BPMN text."""
    query = select(ProcessDefinition.id).where(ProcessDefinition.process_id == process_id)
    query = query.order_by(ProcessDefinition.version.desc()).limit(1) if version is None \
        else query.where(ProcessDefinition.version == version)
    found = session.scalar(query)
    if found is None:
        raise NotFound(f"未找到流程 {process_id}")
    return found


def get_definition(session, process_id, version=None):
    if version is None:
        found = latest(session, process_id)
    else:
        found = session.scalars(select(ProcessDefinition).where(
            ProcessDefinition.process_id == process_id, ProcessDefinition.version == version)).first()
    if found is None:
        raise NotFound(f"未找到流程 {process_id}")
    return found


def deploy(session, files, actor=None, now=None):
    """Deploy `files` ([(file name, bytes)]) in the caller's transaction; refuse all or none."""
    now = now or datetime.now(timezone.utc)
    parser, trees, problems = LinkageParser(), {}, {}
    for file_name, content in files:
        try:
            trees[file_name] = parser.add_bpmn_bytes(content, file_name)
        except BpmnFileRefused as exc:
            raise DeploymentRefused(f"{file_name}: {exc}",
                                    fields={exc.element or file_name: [str(exc)]}) from exc
    own = {pid: name for name, tree in trees.items() for pid in _executable_ids(tree)}
    if not own:
        raise DeploymentRefused("文件中没有可执行的流程（isExecutable）")
    # Processes called from these files but deployed earlier are pinned to their latest version.
    dependencies, pending = {}, set().union(*(_called_ids(t) for t in trees.values())) - set(own)
    while pending:
        called = pending.pop()
        found = latest(session, called)
        if found is None:
            problems.setdefault(called, []).append(f"调用活动引用的流程 {called} 未部署")
            continue
        dependencies[called] = found
        parser.add_bpmn_bytes(found.bpmn_xml.encode("utf-8"), found.file_name)
        pending |= _called_ids(read_xml(found.bpmn_xml.encode("utf-8"), found.file_name)) \
            - set(own) - set(dependencies)
    parsed = {}
    for process_id, file_name in own.items():
        try:
            spec, subs = parser.linkage_specs(process_id)
        except ValidationException as exc:
            problems.setdefault(exc.id or process_id, []).append(str(exc).split("\n")[0])
            continue
        except Exception as exc:  # noqa: BLE001 - parser errors become deploy refusals
            problems.setdefault(process_id, []).append(f"无法解析: {exc}")
            continue
        meta = {}
        for called in subs:  # called processes' elements appear in this case's tasks too
            if called in own:
                meta.update(element_meta(trees[own[called]], called))
            elif called in dependencies:
                meta.update(dependencies[called].task_meta)
        meta.update(element_meta(trees[file_name], process_id))
        for element, reasons in validate_spec(spec, subs, meta).items():
            problems.setdefault(element, []).extend(reasons)
        parsed[process_id] = (spec, subs, meta)
    if problems:
        summary = "；".join(f"{el}: {'，'.join(r)}" for el, r in problems.items())
        raise DeploymentRefused(f"流程定义无法运行: {summary}", fields=problems)
    results = []
    contents = dict(files)
    for process_id, file_name in own.items():
        spec, subs, meta = parsed[process_id]
        deps = [d for pid, d in dependencies.items() if pid in subs]
        digest = hashlib.sha256(contents[file_name])
        for dep in deps:
            digest.update(dep.content_hash.encode())
        content_hash = digest.hexdigest()
        existing = session.scalars(select(ProcessDefinition).where(
            ProcessDefinition.process_id == process_id,
            ProcessDefinition.content_hash == content_hash)).first()
        if existing is not None:
            results.append(Deployed(process_id, existing.name, existing.version, existing.id, False))
            continue
        version = (session.scalar(select(func.max(ProcessDefinition.version))
                                  .where(ProcessDefinition.process_id == process_id)) or 0) + 1
        tree = trees[file_name]
        process_node = tree.find(f".//bpmn:process[@id='{process_id}']", NS)
        row = ProcessDefinition(
            process_id=process_id, version=version,
            name=process_node.get("name") or process_id, content_hash=content_hash,
            file_name=file_name, bpmn_xml=contents[file_name].decode("utf-8"),
            dependency_ids=[d.id for d in deps], task_meta=meta,
            start_form=_start_form(tree, process_id), deployed_at=now, deployed_by=actor)
        session.add(row)
        session.flush()
        results.append(Deployed(process_id, row.name, version, row.id, True))
    return results
