"""Query parameters several collections share, declared once."""

from typing import Annotated

from fastapi import Query

ProcedureFilter = Annotated[
    str | None,
    Query(
        max_length=120,
        description="Only what is listed for this procedure (slug), including what its variants "
        "inherit from their parent unless `inherited=false`.",
    ),
]
Inherited = Annotated[
    bool,
    Query(description="Include rows a variant inherits from its parent procedure."),
]
SourceFilter = Annotated[
    str | None, Query(max_length=120, description="Only what this source (slug) says.")
]
