"""Finding the process modules: one module of `workflows` per process, named after its id.

A process module declares `FORMS` (form key -> marshmallow schema) and may declare `HANDLERS`
(service name -> function); adding a process never means editing a central list.
"""
import importlib
import pkgutil

NOT_PROCESS_MODULES = frozenset({"forms", "json_schema", "demo", "modules", "handlers", "models"})


def process_modules():
    import workflows
    for info in pkgutil.iter_modules(workflows.__path__):
        if info.ispkg or info.name in NOT_PROCESS_MODULES:
            continue
        module = importlib.import_module(f"workflows.{info.name}")
        if hasattr(module, "FORMS") or hasattr(module, "HANDLERS"):
            yield module
