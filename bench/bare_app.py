"""The limit (a): a bare Starlette app answering fixed JSON bodies, nothing else.

Run on the same uvicorn settings as the service. BENCH_BARE_BODY names the file every path
answers with (the service's relation response, so the size is the same); BENCH_BARE_BODIES a
directory whose `<name>.json` answers `/<name>`, one body per endpoint the paired runs compare
(api responses of the same size), and whose `<name>.json.gz` answers `/<name>.gz` as it is,
with `Content-Encoding: gzip` (the service's compressed bytes: the limit does not compress
either). Bodies are read once at start.
"""

import os
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

GZIP = ".gz"
BODY = (
    Path(os.environ["BENCH_BARE_BODY"]).read_bytes() if "BENCH_BARE_BODY" in os.environ else b"{}"
)
BODIES = (
    {
        p.name.replace(".json", ""): p.read_bytes()
        for pattern in ("*.json", f"*.json{GZIP}")
        for p in Path(os.environ["BENCH_BARE_BODIES"]).glob(pattern)
    }
    if "BENCH_BARE_BODIES" in os.environ
    else {}
)
GZIP_HEADERS = {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}


async def fixed(request: Request) -> Response:
    return Response(BODY, media_type="application/json")


async def by_name(request: Request) -> Response:
    name = request.path_params["name"]
    headers = GZIP_HEADERS if name.endswith(GZIP) else None
    return Response(BODIES[name], media_type="application/json", headers=headers)


app = Starlette(
    routes=[Route("/{name}", by_name), Route("/{path:path}", fixed)]
    if BODIES
    else [Route("/{path:path}", fixed)]
)
