"""The errors the service answers with, by kind; `api.http.problems` renders them as RFC 9457
problem details. Plain exceptions: the domain raises them without knowing of HTTP."""

from typing import Any


class AppError(Exception):
    status = 500
    title = "Internal Server Error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **members: Any,
    ):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.headers = headers
        self.members = members


class BadRequest(AppError):
    """A header (or other part of the request) is malformed."""

    status = 400
    title = "Bad Request"


class NotFound(AppError):
    status = 404
    title = "Not Found"


class Unauthorized(AppError):
    status = 401
    title = "Unauthorized"

    def __init__(self, detail: str, *, invalid_token: bool = False):
        # RFC 6750: a key that was sent but is not valid says so in the challenge.
        challenge = 'Bearer realm="skinkb"' + (', error="invalid_token"' if invalid_token else "")
        super().__init__(detail, headers={"WWW-Authenticate": challenge})


class Forbidden(AppError):
    status = 403
    title = "Forbidden"


class Conflict(AppError):
    status = 409
    title = "Conflict"


class Gone(AppError):
    status = 410
    title = "Gone"


class PreconditionFailed(AppError):
    status = 412
    title = "Precondition Failed"


class PreconditionRequired(AppError):
    status = 428
    title = "Precondition Required"


class Unprocessable(AppError):
    """The request body is well-formed JSON but says something the knowledge base refuses."""

    status = 422
    title = "Unprocessable Content"


class InvalidParameter(AppError):
    """A query parameter names something that does not exist or cannot be read."""

    status = 422
    title = "Unprocessable Content"

    def __init__(self, parameter: str, detail: str):
        super().__init__(
            detail, errors=[{"loc": ["query", parameter], "msg": detail, "type": "value_error"}]
        )
