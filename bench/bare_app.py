"""The limit (a): a bare Starlette app answering fixed JSON bodies, nothing else.

Run on the same uvicorn settings as the service. BENCH_BARE_BODY names the file every path
answers with (the service's relation response, so the size is the same); BENCH_BARE_BODIES a
directory whose `<name>.json` answers `/<name>`, one body per endpoint the paired runs compare
(api responses of the same size). Bodies are read once at start.
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
BODIES = (
    {p.stem: p.read_bytes() for p in Path(os.environ["BENCH_BARE_BODIES"]).glob("*.json")}
    if "BENCH_BARE_BODIES" in os.environ
    else {}
)


async def fixed(request: Request) -> Response:
    return Response(BODY, media_type="application/json")


async def by_name(request: Request) -> Response:
    return Response(BODIES[request.path_params["name"]], media_type="application/json")


app = Starlette(
    routes=[Route("/{name}", by_name), Route("/{path:path}", fixed)]
    if BODIES
    else [Route("/{path:path}", fixed)]
)
