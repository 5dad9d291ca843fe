"""Timers that read the engine's clock, and timer expressions as modelers write them.

SpiffWorkflow's timer definitions compute due times from `datetime.now()` and compare against
the wall clock again when asked whether they fired; there is no clock to inject. These
subclasses take "now" from the script engine's clock (set on every load, see `engine.spiff`), so
`linkage tick --now` and tests decide when a timer fires. They also compare with `<=`: a timer
fires *at* its due time, which lets the sweep replay overdue occurrences at exactly their due
times.

Modelers (Camunda Modeler, bpmn.io, Signavio) write `P7D`, `R3/P1D` or an ISO date unquoted,
as the BPMN standard does; SpiffWorkflow would evaluate that as Python and fail. `literal_or_
expression` turns such literals into string expressions; anything else stays an expression.
"""
import re
from datetime import datetime, timedelta, timezone

from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition, DurationTimerEventDefinition, TimeDateEventDefinition,
    TimerEventDefinition)
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.util.task import TaskState

_DURATION = r"P(?!$)(\d+(\.\d+)?Y)?(\d+(\.\d+)?M)?(\d+(\.\d+)?W)?(\d+(\.\d+)?D)?(T(?=\d)(\d+(\.\d+)?H)?(\d+(\.\d+)?M)?(\d+(\.\d+)?S)?)?"
_DATETIME = r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?"
_CYCLE = rf"R\d*/(({_DATETIME})/)?({_DURATION})(/({_DATETIME}))?|R\d*/({_DATETIME})/({_DURATION})"
ISO_LITERAL = re.compile(rf"^\s*({_DURATION}|{_DATETIME}|{_CYCLE})\s*$")


def literal_or_expression(text):
    """`P7D` -> `"P7D"`; `"P7D"` and `due_date` stay as they are."""
    text = (text or "").strip()
    if ISO_LITERAL.match(text):
        return repr(text)
    return text


def _now(my_task):
    return my_task.workflow.script_engine.clock.now()


def _record_firing(my_task, due):
    """Tell the run in progress (see `engine.runtime`) that this timer fired, for the audit."""
    journal = getattr(my_task.workflow.script_engine, "journal", None)
    if journal is not None:
        journal.append((my_task, due))


def _start_from(parsed, start):
    return start + TimerEventDefinition.get_timedelta_from_start(dict(parsed), start)


def _as_text(value):
    """Timer expressions may evaluate to datetimes or dates as well as ISO strings."""
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _check_due(my_task, due):
    if not my_task._get_internal_data("event_fired", False) and due <= _now(my_task):
        my_task._set_internal_data(event_fired=True)
        _record_firing(my_task, due)
    return my_task._get_internal_data("event_fired", False)


class ClockDateTimer(TimeDateEventDefinition):
    def has_fired(self, my_task):
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            event_value = _as_text(my_task.workflow.script_engine.evaluate(my_task, self.expression))
            TimerEventDefinition.get_datetime(event_value)  # refuse a bad value now, not later
            my_task._set_internal_data(event_value=event_value)
        return _check_due(my_task, TimerEventDefinition.get_datetime(event_value))


class ClockDurationTimer(DurationTimerEventDefinition):
    def has_fired(self, my_task):
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            expression = _as_text(my_task.workflow.script_engine.evaluate(my_task, self.expression))
            parsed = TimerEventDefinition.parse_iso_duration(expression)
            event_value = _start_from(parsed, _now(my_task)).isoformat()
            my_task._set_internal_data(event_value=event_value)
        return _check_due(my_task, TimerEventDefinition.get_datetime(event_value))


class ClockCycleTimer(CycleTimerEventDefinition):
    """Fires one occurrence per call whose time has come; the sweep calls once per occurrence."""

    def cycle_complete(self, my_task):
        event_value = my_task._get_internal_data("event_value")
        now = _now(my_task)
        if event_value is None:
            expression = _as_text(my_task.workflow.script_engine.evaluate(my_task, self.expression))
            event_value = parse_cycle(expression, now)
        ready = False
        if event_value["cycles"] != 0:
            next_event = datetime.fromisoformat(event_value["next"])
            if next_event <= now:
                event_value["next"] = (next_event + timedelta(seconds=event_value["duration"])).isoformat()
                event_value["cycles"] -= 1
                ready = True
                _record_firing(my_task, next_event)
        else:
            my_task.internal_data.pop("event_value", None)
            my_task.internal_data["event_fired"] = True
            return False
        my_task._set_internal_data(event_value=event_value)
        return ready


def parse_cycle(expression, now):
    """`R3/P1D` starting now, `R/2026-03-01T09:00:00+08:00/P1D`, `R2/P1D/2026-…` (ending at)."""
    components = expression.upper().strip().split("/")
    if not components[0].startswith("R"):
        raise ValueError(f"不是重复周期表达式: {expression}")
    cycles = int(components[0][1:]) if components[0][1:] else -1
    parts = [TimerEventDefinition.parse_time_or_duration(c) for c in components[1:]]
    if len(parts) == 1 and isinstance(parts[0], dict):
        duration = TimerEventDefinition.get_timedelta_from_start(dict(parts[0]), now)
        start = now + duration
    elif len(parts) == 2 and isinstance(parts[0], datetime) and isinstance(parts[1], dict):
        start = parts[0]
        duration = TimerEventDefinition.get_timedelta_from_start(dict(parts[1]), start)
    elif len(parts) == 2 and isinstance(parts[0], dict) and isinstance(parts[1], datetime):
        duration = TimerEventDefinition.get_timedelta_from_end(dict(parts[0]), parts[1])
        start = parts[1] - duration
    else:
        raise ValueError(f"无法识别的重复周期: {expression}")
    if duration.total_seconds() <= 0:
        raise ValueError(f"重复周期的间隔必须大于零: {expression}")
    return {"cycles": cycles, "next": start.isoformat(), "duration": duration.total_seconds()}


REPLACEMENTS = {
    TimeDateEventDefinition: ClockDateTimer,
    DurationTimerEventDefinition: ClockDurationTimer,
    CycleTimerEventDefinition: ClockCycleTimer,
}


def _adopt(definition):
    if isinstance(definition, MultipleEventDefinition):
        definition.event_definitions = [_adopt(d) for d in definition.event_definitions]
        return definition
    cls = REPLACEMENTS.get(type(definition))
    if cls is None:
        return definition
    adopted = cls.__new__(cls)
    adopted.__dict__.update(definition.__dict__)
    adopted.source_expression = definition.expression
    adopted.expression = literal_or_expression(definition.expression)
    return adopted


def adopt_timers(spec):
    """Swap SpiffWorkflow's wall-clock timers in a parsed process spec for clock-driven ones."""
    for task_spec in spec.task_specs.values():
        definition = getattr(task_spec, "event_definition", None)
        if definition is not None:
            task_spec.event_definition = _adopt(definition)


def timer_definitions(definition):
    """The clock timers inside an event definition (several for an event-based gateway)."""
    if isinstance(definition, MultipleEventDefinition):
        return [d for sub in definition.event_definitions for d in timer_definitions(sub)]
    return [definition] if isinstance(definition, TimerEventDefinition) else []


def due_at(task):
    """When a waiting timer task next falls due, or None when it is not a pending timer."""
    if not task.has_state(TaskState.WAITING):
        return None
    value = task._get_internal_data("event_value")
    if value is None:
        return None
    if isinstance(value, dict):
        if value.get("cycles", 0) == 0:
            return None
        return datetime.fromisoformat(value["next"]).astimezone(timezone.utc)
    return TimerEventDefinition.get_datetime(value)


def validate_literal(text):
    """Raise when an ISO 8601 literal (duration, date-time or cycle) does not parse."""
    text = text.strip()
    if text.upper().startswith("R"):
        parse_cycle(text, datetime.now(timezone.utc))
    elif text.upper().startswith("P"):
        TimerEventDefinition.parse_iso_duration(text)
    else:
        TimerEventDefinition.get_datetime(text)
