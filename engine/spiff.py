"""SpiffWorkflow, configured in one place: parser, serializer and script engine.

Everything else in the engine gets its parser, its serializer and its script engine from here,
so the choices below are made once:

- the Camunda flavour of the parser, because that is what modelers write (and we read the
  attributes SpiffWorkflow ignores, such as `candidateGroups`, from the XML ourselves);
- XML parsed by a hardened lxml parser before SpiffWorkflow sees it: no DTDs, no entities, no
  network (XXE and entity expansion are refused, not survived);
- timers swapped for clock-driven ones (`engine.timers`);
- a case's state serialized without its process spec: specs belong to the deployed version and
  are parsed once per process, so loading a case costs only its (pruned) task tree;
- that state written and read as JSON by orjson, once each every step: 10-16 µs for the bench
  loop's state where the standard library took 43-74 µs (bench/RESULTS.md); the standard
  library takes over for what orjson refuses (integers beyond 64 bits, keys that are not text).
"""
import json
from copy import deepcopy
from functools import lru_cache
from uuid import UUID

import orjson
from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser, full_tag
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.event_definition import \
    TimerConditionalEventDefinitionConverter
from SpiffWorkflow.bpmn.serializer.default.workflow import (BpmnWorkflowConverter, TaskConverter,
                                                             WorkflowConverter)
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState

from engine.timers import REPLACEMENTS, adopt_timers

MAX_BPMN_BYTES = 5 * 1024 * 1024

_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                              dtd_validation=False, huge_tree=False, remove_comments=True)


class BpmnFileRefused(ValueError):
    """A file that is not a BPMN document we will read; `element` names where, when known."""

    def __init__(self, message, element=None, file_name=None):
        super().__init__(message)
        self.element = element
        self.file_name = file_name


def read_xml(content, file_name):
    """Parse BPMN bytes safely, refusing DTDs (the carrier of XXE and billion laughs)."""
    if len(content) > MAX_BPMN_BYTES:
        raise BpmnFileRefused(f"文件过大（上限 {MAX_BPMN_BYTES // 1024 // 1024} MB）", file_name=file_name)
    if b"<!DOCTYPE" in content.upper() or b"<!ENTITY" in content.upper():
        raise BpmnFileRefused("BPMN 文件不允许包含 DOCTYPE 或实体声明", file_name=file_name)
    try:
        tree = etree.fromstring(content, parser=_XML_PARSER).getroottree()
    except etree.XMLSyntaxError as exc:
        raise BpmnFileRefused(f"XML 格式错误: {exc}", file_name=file_name) from exc
    if tree.docinfo.doctype:
        raise BpmnFileRefused("BPMN 文件不允许包含 DOCTYPE", file_name=file_name)
    if etree.QName(tree.getroot()).localname != "definitions":
        raise BpmnFileRefused("不是 BPMN 2.0 文件（根元素应为 definitions）", file_name=file_name)
    return tree


class LinkageParser(CamundaParser):
    """The Camunda parser, fed only by `read_xml` and handing out clock-driven timers.

    Events use the plain BPMN parsers: Camunda's message definitions wrap payloads in a
    `{payload, result_var}` envelope of their own, while every message we deliver (API,
    escalation) merges its data into the case, the same for receive tasks and catch events.
    """

    OVERRIDE_PARSER_CLASSES = {
        **CamundaParser.OVERRIDE_PARSER_CLASSES,
        **{full_tag(tag): BpmnParser.PARSER_CLASSES[full_tag(tag)]
           for tag in ("startEvent", "endEvent", "intermediateCatchEvent",
                       "intermediateThrowEvent", "boundaryEvent")},
    }

    def add_bpmn_bytes(self, content, file_name):
        tree = read_xml(content, file_name)
        try:
            self.add_bpmn_xml(tree, file_name)
        except ValidationException as exc:
            raise BpmnFileRefused(str(exc).split("\n")[0], element=exc.id, file_name=file_name) from exc
        return tree

    def linkage_specs(self, process_id):
        spec = self.get_spec(process_id)
        subprocess_specs = self.get_subprocess_specs(process_id)
        adopt_timers(spec)
        for sub in subprocess_specs.values():
            adopt_timers(sub)
        return spec, subprocess_specs


@lru_cache(maxsize=1024)
def _uuid(text):
    """A task id from its text. Each id appears three or four times in a case's state (key, id,
    parent, children) and `UUID()` parsing was a quarter of loading one; UUIDs are immutable,
    so one object per text is safe to share."""
    return UUID(text)


class CaseTaskConverter(TaskConverter):
    """SpiffWorkflow's task converter, reading the same format with ids parsed once each."""

    def from_dict(self, dct, workflow):
        task_spec = workflow.spec.task_specs.get(dct["task_spec"])
        task = self.target_class(workflow, task_spec, state=dct["state"], id=_uuid(dct["id"]))
        task._parent = _uuid(dct["parent"]) if dct["parent"] is not None else None
        task._children = [_uuid(child) for child in dct["children"]]
        task.last_state_change = dct["last_state_change"]
        task.triggered = dct["triggered"]
        task.internal_data = self.registry.restore(dct["internal_data"])
        if isinstance(task_spec, CatchingEvent) and task.has_state(TaskState.WAITING):
            task.workflow.top_workflow.event_manager.add_task(task)
        delta = dct.get("delta")
        if delta and task.parent is not None:
            data = DeepMerge.merge({}, task.parent.data)
            data.update(self.registry.restore(delta.get("updates", {})))
            for key in delta.get("deletions", {}):
                data.pop(key, None)
        else:
            data = self.registry.restore(dct["data"])
        task.data = data
        return task


class CaseStateConverter(BpmnWorkflowConverter):
    """Serializes a workflow's instance state only; `from_dict` takes the specs as arguments."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], _uuid, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(_uuid(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def make_serializer(task_converter=CaseTaskConverter):
    """The serializer of case states (`task_converter` is swappable so that a test can load a
    state with SpiffWorkflow's own and compare)."""
    config = deepcopy(CAMUNDA_CONFIG)
    config[BpmnWorkflow] = CaseStateConverter
    config[Task] = task_converter
    for cls in REPLACEMENTS.values():
        config[cls] = TimerConditionalEventDefinitionConverter
    registry = BpmnWorkflowSerializer.configure(config)
    return BpmnWorkflowSerializer(registry)


SERIALIZER = make_serializer()
_ENCODER = SERIALIZER._encoder_cls()


# What orjson would write natively but SpiffWorkflow's encoder converts goes to the encoder:
# dates and times (the registry keeps their type), dataclasses.
_ORJSON_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def dump_state(workflow):
    """A workflow's state as JSON text, as SpiffWorkflow's own encoder would write it.

    orjson writes the same text (but for a float's exponent: 1.5e-7 where the standard library
    writes 1.5e-07, the same value); what it cannot write (an integer beyond 64 bits, a dict
    with non-text keys) is written by the standard library instead, with the same encoder
    SpiffWorkflow uses (tests/engine/test_state_json.py compares the two). A UUID in task data
    is written as its text, where SpiffWorkflow's encoder tags it to read it back as a UUID;
    nothing puts one there (form data and handler results are plain JSON)."""
    registry = SERIALIZER.registry
    registry._encoder_mode = True
    try:
        dct = SERIALIZER.to_dict(workflow)
        try:
            return orjson.dumps(dct, default=_ENCODER.default, option=_ORJSON_OPTIONS).decode()
        except orjson.JSONEncodeError:
            return json.dumps(dct, cls=SERIALIZER._encoder_cls, separators=(",", ":"),
                              ensure_ascii=False)
    finally:
        registry._encoder_mode = False


def load_state(text, spec, subprocess_specs, script_engine):
    try:
        dct = orjson.loads(text)
    except orjson.JSONDecodeError:  # what only the standard library reads (NaN, huge integers)
        dct = json.loads(text)
    workflow = SERIALIZER.from_dict(dct, spec=spec, subprocess_specs=subprocess_specs)
    workflow.script_engine = script_engine
    return workflow


def new_workflow(spec, subprocess_specs, script_engine):
    return BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine)
