"""The service handlers of the bundled processes, registered with the engine by name.

Each process module may declare `HANDLERS = {"name": function}`; a script task calls one with
`call_service("name", ...)` (see `engine.handlers`).
"""
from workflows.modules import process_modules


def register_handlers(registry):
    names = {}
    for module in process_modules():
        for name, handler in getattr(module, "HANDLERS", {}).items():
            if name in names:
                raise RuntimeError(f"服务 {name} 在 {names[name]} 和 {module.__name__} 中重复定义")
            names[name] = module.__name__
            registry.register(name, handler)
