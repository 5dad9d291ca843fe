"""Deployment: versions, refusal of what cannot run, and files that must not be read."""
import pytest
from sqlalchemy import func, select

from engine.errors import DeploymentRefused
from engine.models import ProcessDefinition
from tests.conftest import bpmn
from tests.engine.bpmn_snippets import CALLEE, CALLER, LOOP, doc, script_process


def count_definitions(engine):
    with engine.db.unit_of_work(write=False) as s:
        return s.scalar(select(func.count()).select_from(ProcessDefinition))


def test_same_file_is_the_same_version_and_a_change_is_a_new_one(engine, admin):
    first = engine.deploy([("loop.bpmn", LOOP)], admin)
    again = engine.deploy([("loop.bpmn", LOOP)], admin)
    assert (first[0].version, first[0].created) == (1, True)
    assert (again[0].version, again[0].created) == (1, False)
    changed = engine.deploy([("loop.bpmn", LOOP.replace(b"P5D", b"P6D"))], admin)
    assert (changed[0].version, changed[0].created) == (2, True)


def test_running_case_stays_on_its_version(engine, admin):
    engine.deploy([("loop.bpmn", LOOP)], admin)
    case = engine.start_case(admin, "loop")
    engine.deploy([("loop.bpmn", LOOP.replace(b"P5D", b"P6D"))], admin)
    newer = engine.start_case(admin, "loop")
    assert case.definition_id != newer.definition_id
    with engine.db.unit_of_work(write=False) as s:
        assert s.get(ProcessDefinition, case.definition_id).version == 1


@pytest.mark.parametrize("content, element", [
    (b"<bpmn:definitions", None),
    (b"<?xml version='1.0'?><!DOCTYPE d [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><d>&x;</d>", None),
    (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><lolz>&lol2;</lolz>', None),
    (b"<html><body>not bpmn</body></html>", None),
])
def test_malformed_or_hostile_xml_is_refused_and_stores_nothing(engine, admin, content, element):
    with pytest.raises(DeploymentRefused):
        engine.deploy([("bad.bpmn", content)], admin)
    assert count_definitions(engine) == 0


def test_a_file_with_one_bad_process_stores_nothing(engine, admin):
    bad = script_process("import os", "bad_one")
    with pytest.raises(DeploymentRefused) as refused:
        engine.deploy([("good.bpmn", LOOP), ("bad.bpmn", bad)], admin)
    assert "calc" in refused.value.fields
    assert count_definitions(engine) == 0


@pytest.mark.parametrize("script, reason", [
    ("x = __import__('os')", "__import__"),
    ("f = open('/etc/passwd')", "open"),
    ("import os", "import"),
    ("x = ().__class__.__bases__", "__class__"),
    ("x = eval('1')", "eval"),
])
def test_hostile_scripts_are_refused_at_deploy_naming_the_element(engine, admin, script, reason):
    with pytest.raises(DeploymentRefused) as refused:
        engine.deploy([("s.bpmn", script_process(script))], admin)
    assert list(refused.value.fields) == ["calc"]
    assert reason in " ".join(refused.value.fields["calc"])


def test_bad_timer_literal_is_refused_with_element_id(engine, admin):
    broken = LOOP.replace(b"<bpmn:timeDuration>P3D", b"<bpmn:timeDuration>P3X")
    with pytest.raises(DeploymentRefused) as refused:
        engine.deploy([("loop.bpmn", broken)], admin)
    assert "nag" in refused.value.fields


def test_unknown_called_process_is_refused(engine, admin):
    with pytest.raises(DeploymentRefused) as refused:
        engine.deploy([("caller.bpmn", CALLER)], admin)
    assert "callee" in refused.value.fields
    assert count_definitions(engine) == 0


def test_call_activity_resolves_an_earlier_deployment(engine, admin):
    engine.deploy([("callee.bpmn", CALLEE)], admin)
    deployed = engine.deploy([("caller.bpmn", CALLER)], admin)
    assert [d.process_id for d in deployed] == ["caller"]


def test_no_executable_process_is_refused(engine, admin):
    with pytest.raises(DeploymentRefused):
        engine.deploy([("x.bpmn", doc("").replace(b'isExecutable="true"', b'isExecutable="false"'))], admin)


def test_camunda_modeler_file_deploys(engine, admin):
    deployed = engine.deploy([bpmn("camunda_reminder.bpmn")], admin)
    assert deployed[0].process_id == "await_reply"
