"""The engine's error vocabulary.

Every entrypoint (API, CLI, scheduler) maps these to its own way of saying no: the API to the
status codes of the contract, the CLI to a message and a non-zero exit. Messages are written
for the people who read them, in Chinese.
"""


class EngineError(Exception):
    """Base class; `code` is the stable machine-readable name used in API error bodies."""

    code = "error"
    status = 400

    def __init__(self, message, fields=None):
        super().__init__(message)
        self.message = message
        self.fields = fields


class NotFound(EngineError):
    code = "not_found"
    status = 404


class Forbidden(EngineError):
    code = "forbidden"
    status = 403


class Conflict(EngineError):
    """The case changed underneath, or the task is no longer ready: retry with fresh data."""

    code = "conflict"
    status = 409


class ValidationFailed(EngineError):
    """Input data refused; `fields` maps field names to lists of messages."""

    code = "invalid"
    status = 422


class DeploymentRefused(EngineError):
    """A BPMN file that cannot run; `fields` maps element ids to reasons."""

    code = "deployment_refused"
    status = 422


class BadRequest(EngineError):
    code = "bad_request"
    status = 400
