"""JSON answers the hot read routes render themselves, with orjson.

A route that returns a plain dict has FastAPI validate it against the response model and then
serialise it, which for a relation page costs more than the database work. Rows read from our own
typed columns need no second validation, so the relation routes return `Prevalidated` instead;
the response model still documents the answer, and a test checks that each of these routes
answers exactly what the model would have produced.
"""

from typing import Any

import orjson
from fastapi.responses import Response


class Prevalidated(Response):
    """An answer already in the shape of its route's response model, rendered by orjson."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)
