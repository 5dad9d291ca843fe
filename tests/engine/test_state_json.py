"""A case's state written by orjson (engine.spiff.dump_state / load_state) is what
SpiffWorkflow's own JSON encoder writes, and what orjson refuses still gets written."""
import json
import math
from datetime import datetime, timedelta
from uuid import UUID

import pytest
from SpiffWorkflow.util.task import TaskState

from engine import spiff
from engine.calendar import CHINA_TZ
from engine.clock import ManualClock
from engine.scripts import ClockScriptEngine
from tests.engine.bpmn_snippets import LOOP


@pytest.fixture
def workflow():
    parser = spiff.LinkageParser()
    parser.add_bpmn_bytes(LOOP, "loop.bpmn")
    spec, subs = parser.linkage_specs("loop")
    script_engine = ClockScriptEngine(ManualClock(datetime(2026, 12, 4, 9, 0, tzinfo=CHINA_TZ)))
    workflow = spiff.new_workflow(spec, subs, script_engine)
    workflow.do_engine_steps()
    workflow.specs = (spec, subs, script_engine)
    return workflow


def _stdlib(workflow):
    """What SpiffWorkflow's encoder writes for the same workflow (the format before orjson)."""
    registry = spiff.SERIALIZER.registry
    registry._encoder_mode = True
    try:
        return json.dumps(spiff.SERIALIZER.to_dict(workflow), cls=spiff.SERIALIZER._encoder_cls,
                          separators=(",", ":"), ensure_ascii=False)
    finally:
        registry._encoder_mode = False


def _ready(workflow):
    return workflow.get_tasks(state=TaskState.READY)[0]


def _reload(workflow, text):
    return spiff.load_state(text, *workflow.specs)


def test_the_text_is_what_spiffworkflows_encoder_writes(workflow):
    _ready(workflow).data.update({
        "title": "3号楼电梯困人整改 \"加急\"\n第二行", "count": 12, "ratio": 0.1, "big": 2 ** 62,
        "small": -1.5, "flags": [True, False, None], "nested": {"a": [1, {"b": "丙"}]},
        "emoji": "🚪", "at": datetime(2026, 12, 4, 10, 30, tzinfo=CHINA_TZ),
        "span": timedelta(days=3, seconds=5), "tags": {"电梯"}, "pair": ("甲", "乙")})
    text = spiff.dump_state(workflow)
    assert text == _stdlib(workflow)
    data = _ready(_reload(workflow, text)).data
    assert data["at"] == datetime(2026, 12, 4, 10, 30, tzinfo=CHINA_TZ)  # the type survives
    assert data["span"] == timedelta(days=3, seconds=5)
    assert data["tags"] == ["电梯"] and data["pair"] == ["甲", "乙"]


def test_floats_with_an_exponent_keep_their_value(workflow):
    """The one difference in text: orjson writes an exponent without padding (1.5e-7, where
    the standard library writes 1.5e-07); the value read back is the same."""
    _ready(workflow).data.update({"small": -1.5e-7, "large": 1e16, "third": 1 / 3})
    text = spiff.dump_state(workflow)
    assert json.loads(text) == json.loads(_stdlib(workflow))
    assert _ready(_reload(workflow, text)).data == {"small": -1.5e-7, "large": 1e16, "third": 1 / 3}


def test_a_step_round_trips(workflow):
    task = _ready(workflow)
    task.data["report"] = "已整改"
    task.run()
    workflow.do_engine_steps()
    text = spiff.dump_state(workflow)
    again = _reload(workflow, text)
    assert spiff.dump_state(again) == text
    assert json.loads(text) == json.loads(_stdlib(again))


def test_what_orjson_refuses_is_written_by_the_standard_library(workflow):
    _ready(workflow).data.update({"huge": 2 ** 70, "keyed": {1: "一"}})
    text = spiff.dump_state(workflow)
    assert text == _stdlib(workflow)
    data = _ready(_reload(workflow, text)).data
    assert data["huge"] == 2 ** 70 and data["keyed"] == {"1": "一"}


def test_text_only_the_standard_library_reads_still_loads(workflow):
    _ready(workflow).data["missing"] = float("nan")  # json writes NaN, which orjson cannot read
    text = _stdlib(workflow)
    assert "NaN" in text
    assert math.isnan(_ready(_reload(workflow, text)).data["missing"])


def test_a_uuid_in_task_data_is_written_as_its_text(workflow):
    _ready(workflow).data["ref"] = UUID("6a20ebbc-1865-43a1-b552-5ee5f172e9ee")
    text = spiff.dump_state(workflow)
    assert _ready(_reload(workflow, text)).data["ref"] == "6a20ebbc-1865-43a1-b552-5ee5f172e9ee"


def test_what_neither_can_write_is_refused(workflow):
    _ready(workflow).data["handle"] = object()
    with pytest.raises(TypeError):
        spiff.dump_state(workflow)
