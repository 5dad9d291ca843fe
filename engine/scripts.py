"""Script tasks and conditions in a restricted environment.

SpiffWorkflow runs scripts with plain `eval`/`exec` over the task data: whoever can deploy a
BPMN file could run anything on the server. Here every script and expression is compiled with
RestrictedPython (no names or attributes starting with `_`, so no dunder escapes), runs with a
short list of safe builtins (no `open`, no `__import__`, no `eval`), and is checked once more at
deploy time so a definition that tries is refused before it is stored.

The functions scripts may call (`now()`, `today()`, `add_working_days()`, ...) come from the
engine's clock and calendar, never from the wall clock.
"""
import ast
import datetime as _dt
from functools import lru_cache

from RestrictedPython import compile_restricted_eval, compile_restricted_exec, safe_builtins
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (full_write_guard, guarded_iter_unpack_sequence,
                                     guarded_unpack_sequence, safer_getattr)
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from engine import calendar

FORBIDDEN_NAMES = frozenset({
    "open", "exec", "eval", "compile", "globals", "locals", "vars", "getattr", "setattr",
    "delattr", "input", "breakpoint", "help", "exit", "quit", "memoryview", "type", "object",
    "super", "classmethod", "staticmethod", "property", "dir", "print",
})

_EXTRA_BUILTINS = {name: getattr(__builtins__, name, None) if not isinstance(__builtins__, dict)
                   else __builtins__[name]
                   for name in ("min", "max", "sum", "any", "all", "enumerate", "dict", "list",
                                "set", "frozenset", "map", "filter", "reversed")}


class ScriptRefused(ValueError):
    """A script or expression that may not run here; the message says why, in Chinese."""


def check_source(source, mode):
    """Reasons (in Chinese) why `source` may not run; an empty list when it may.

    `mode` is "exec" for script tasks and "eval" for conditions and expressions.
    """
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError as exc:
        return [f"语法错误（第 {exc.lineno} 行）: {exc.msg}"]
    reasons = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            reasons.append("脚本不允许 import")
        elif isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            reasons.append(f"脚本不允许使用 {node.id}")
    compiled = (compile_restricted_exec if mode == "exec" else compile_restricted_eval)(source)
    reasons.extend(f"受限脚本不允许: {e}" for e in compiled.errors)
    return list(dict.fromkeys(reasons))


@lru_cache(maxsize=4096)
def _compile(source, mode):
    reasons = check_source(source, mode)
    if reasons:
        raise ScriptRefused("；".join(reasons))
    compiled = (compile_restricted_exec if mode == "exec" else compile_restricted_eval)(source)
    return compiled.code


def _functions(clock):
    def now():
        return clock.now()

    def today():
        return clock.now().astimezone(calendar.CHINA_TZ).date()

    def add_working_days(start, days):
        if isinstance(start, str):
            start = _dt.date.fromisoformat(start[:10])
        if isinstance(start, _dt.datetime):
            start = start.date()
        return calendar.add_working_days(start, int(days)).isoformat()

    def days_from_now(days):
        return (clock.now() + _dt.timedelta(days=days)).isoformat()

    def working_days_from_today(days):
        """An ISO date string: a deadline `days` working days after today (Beijing time)."""
        return calendar.add_working_days(today(), int(days)).isoformat()

    return {"now": now, "today": today, "add_working_days": add_working_days,
            "days_from_now": days_from_now, "working_days_from_today": working_days_from_today,
            "timedelta": _dt.timedelta, "date": _dt.date, "datetime": _dt.datetime}


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    def __init__(self, clock):
        super().__init__({})
        builtins = dict(safe_builtins)
        builtins.update({k: v for k, v in _EXTRA_BUILTINS.items() if v is not None})
        self.globals = {
            "__builtins__": builtins,
            "_getattr_": safer_getattr,
            "_getitem_": default_guarded_getitem,
            "_getiter_": default_guarded_getiter,
            "_write_": full_write_guard,
            "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
            "_unpack_sequence_": guarded_unpack_sequence,
            **_functions(clock),
            "call_service": self._call_service,
        }
        # Set by the case run that owns this engine: `dispatch(name, kwargs)` runs a handler.
        self.dispatch = None

    def _call_service(self, name, **kwargs):
        if self.dispatch is None:
            raise ScriptRefused("此处不能调用服务")
        return self.dispatch(name, kwargs)

    def _scope(self, context, external_context):
        scope = dict(self.globals)
        scope.update(external_context or {})
        scope.update(context)
        return scope

    def evaluate(self, expression, context, external_context=None):
        return eval(_compile(expression, "eval"), self._scope(context, external_context))

    def execute(self, script, context, external_context=None):
        scope = self._scope(context, external_context)
        exec(_compile(script, "exec"), scope)
        reserved = set(self.globals) | set(external_context or {})
        result = {k: v for k, v in scope.items()
                  if k not in reserved and not k.startswith("_") and not callable(v)}
        context.clear()
        context.update(result)
        return True

    def call_service(self, context, **kwargs):
        raise ScriptRefused("本引擎不执行服务任务的外部调用")


class ClockScriptEngine(PythonScriptEngine):
    """The script engine every workflow gets on load; it also carries the engine's clock."""

    def __init__(self, clock):
        super().__init__(environment=RestrictedEnvironment(clock))
        self.clock = clock
