"""The limit (a): a bare Starlette app answering one fixed JSON body, nothing else.

Run on the same uvicorn settings as the service; the body (the service's own relation response,
so the size is the same) is read once from the file named by BENCH_BARE_BODY.
"""

import os
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BODY = (
    Path(os.environ["BENCH_BARE_BODY"]).read_bytes() if "BENCH_BARE_BODY" in os.environ else b"{}"
)


async def fixed(request: Request) -> Response:
    return Response(BODY, media_type="application/json")


app = Starlette(routes=[Route("/{path:path}", fixed)])
