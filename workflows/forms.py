"""The forms of our processes, registered with the engine under their form keys.

Each form is a marshmallow schema with Chinese labels and messages; `MarshmallowForm` adapts it
to the engine's form protocol (`load` raising `ValidationFailed` with per-field messages, and
`json_schema` for the API and the web form renderer).
"""
from marshmallow import ValidationError

from engine.errors import ValidationFailed

FORMS = {}


def _bundled_forms():
    """The forms of the bundled processes, each process module's `FORMS` by form key."""
    from workflows.modules import process_modules
    for module in process_modules():
        FORMS.update(getattr(module, "FORMS", {}))


class MarshmallowForm:
    def __init__(self, schema_cls):
        self.schema_cls = schema_cls

    def load(self, data, context=None):
        try:
            return self.schema_cls().load(data)
        except ValidationError as exc:
            raise ValidationFailed("表单填写有误", fields=_flatten(exc.messages)) from exc

    def json_schema(self):
        from workflows.json_schema import schema_of
        return schema_of(self.schema_cls())


def _flatten(messages, prefix=""):
    out = {}
    for key, value in messages.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = [str(v) for v in value]
    return out


_bundled_forms()


def register_forms(registry):
    for key, schema_cls in FORMS.items():
        registry.register(key, MarshmallowForm(schema_cls))
