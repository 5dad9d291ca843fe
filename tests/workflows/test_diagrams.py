"""Every bundled BPMN file draws completely and deploys as what the contract names.

A diagram with a missing shape opens in bpmn.io or Camunda Modeler with elements piled at the
origin or not at all, and the case page could not highlight them; so every flow node, lane,
participant and sequence flow must have its DI, every activity a Chinese name, every user task
a candidate group, and the eight contract processes must all be there.
"""
from pathlib import Path

import pytest
from lxml import etree

ROOT = Path(__file__).resolve().parents[2]
NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
      "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
      "dc": "http://www.omg.org/spec/DD/20100524/DC",
      "camunda": "http://camunda.org/schema/1.0/bpmn"}
CONTRACT_PROCESSES = {"joint_meeting", "problem_coordination", "publicity", "periodic_report",
                      "evaluation", "rectification", "dismissal_handover", "contract_watch"}
SHAPED = ("startEvent", "endEvent", "userTask", "scriptTask", "serviceTask", "sendTask",
          "receiveTask", "manualTask", "task", "callActivity", "subProcess", "exclusiveGateway",
          "parallelGateway", "inclusiveGateway", "eventBasedGateway", "intermediateCatchEvent",
          "intermediateThrowEvent", "boundaryEvent", "lane", "participant")
ACTIVITIES = ("userTask", "scriptTask", "serviceTask", "sendTask", "receiveTask", "manualTask",
              "callActivity", "subProcess")
FILES = sorted((ROOT / "bpmn").glob("*.bpmn"))


def _has_chinese(text):
    return any("\u4e00" <= ch <= "\u9fff" for ch in text or "")


def test_the_eight_contract_processes_are_bundled():
    ids = set()
    for path in FILES:
        tree = etree.parse(str(path))
        ids.update(p.get("id") for p in tree.iterfind(".//bpmn:process", NS))
    assert CONTRACT_PROCESSES <= ids, sorted(CONTRACT_PROCESSES - ids)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_element_has_its_shape_and_every_flow_its_edge(path):
    tree = etree.parse(str(path))
    shapes = {s.get("bpmnElement"): s for s in tree.iterfind(".//bpmndi:BPMNShape", NS)}
    edges = {e.get("bpmnElement"): e for e in tree.iterfind(".//bpmndi:BPMNEdge", NS)}
    missing = [f"{etree.QName(n).localname}#{n.get('id')}"
               for tag in SHAPED for n in tree.iterfind(f".//bpmn:{tag}", NS)
               if n.get("id") not in shapes]
    assert not missing, f"{path.name}: no shape for {missing}"
    for element, shape in shapes.items():
        bounds = shape.find("dc:Bounds", NS)
        assert bounds is not None and float(bounds.get("width")) > 0, f"{path.name}: {element}"
    flows = [f.get("id") for f in tree.iterfind(".//bpmn:sequenceFlow", NS)]
    assert [f for f in flows if f not in edges] == [], path.name
    for flow_id in flows:
        assert len(edges[flow_id].findall("{http://www.omg.org/spec/DD/20100524/DI}waypoint")) >= 2


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_activities_are_named_in_chinese_and_user_tasks_have_candidates(path):
    tree = etree.parse(str(path))
    for tag in ACTIVITIES:
        for node in tree.iterfind(f".//bpmn:{tag}", NS):
            assert _has_chinese(node.get("name")), f"{path.name}: {node.get('id')} 没有中文名称"
    for node in tree.iterfind(".//bpmn:userTask", NS):
        groups = node.get(f"{{{NS['camunda']}}}candidateGroups") or \
            node.get(f"{{{NS['camunda']}}}assignee")
        assert groups, f"{path.name}: {node.get('id')} 没有候选角色"
