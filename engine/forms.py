"""Task forms as the engine sees them: a key, a validator, a JSON Schema.

The engine knows nothing of our processes; `workflows/` registers its marshmallow forms here
under their keys (the user task's `formKey`, or `process_id.element_id`). A task with no form
of ours accepts any JSON object.
"""
from engine.errors import ValidationFailed


class FormRegistry:
    def __init__(self):
        self._forms = {}

    def register(self, key, form):
        """`form` has `load(data) -> dict` (raising `ValidationFailed`) and `json_schema()`."""
        self._forms[key] = form

    def get(self, key):
        return self._forms.get(key) if key else None

    def keys(self):
        return list(self._forms)

    def validate(self, key, data, context=None):
        if not isinstance(data, dict):
            raise ValidationFailed("表单数据必须是 JSON 对象", fields={"data": ["必须是 JSON 对象"]})
        form = self.get(key)
        if form is None:
            return dict(data)
        return form.load(data, context or {})

    def schema(self, key):
        form = self.get(key)
        return form.json_schema() if form is not None else None


def form_key(definition, element):
    meta = definition.task_meta.get(element) or {}
    return meta.get("form_key") or f"{definition.process_id}.{element}"
