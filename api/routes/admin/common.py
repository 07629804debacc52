"""HTTP pieces every admin route shares: If-Match, ETags, Idempotency-Key, committing answers."""

import hashlib
import json
import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from api.errors import BadRequest, PreconditionRequired, Unprocessable
from api.kb import editing
from api.kb.documents import Kind
from models import ApiKey, IdempotentResponse
from models.admin import AdminEntry

NO_STORE = {"Cache-Control": "no-store"}
IDEMPOTENCY_KEY_MAX = 200


def a(noun: str) -> str:
    """The noun with its indefinite article, for summaries: "an expert", "a side effect"."""
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


def etag(version: int) -> str:
    return f'"{version}"'


# One entity tag (`"3"`, or a weak or foreign tag, which matches no version), or a bare version.
IF_MATCH_PATTERN = r'^[ \t]*([0-9]{1,18}|(W/)?"[!#-~]{0,64}")[ \t]*$'
_IF_MATCH_DOC = (
    'the ETag of the entry as last read, e.g. `"3"` (`3` is taken as `"3"`); 428 without it, '
    "412 if the entry has changed since."
)
_HOW_TO_SEND = 'Send If-Match with the ETag of the entry (its version), e.g. If-Match: "3".'


def _header(required: bool) -> Any:
    return Header(
        alias="If-Match",
        description=("Required: " if required else "Optional (none: the current version): ")
        + _IF_MATCH_DOC.replace("; 428 without it,", ";" if not required else "; 428 without it,"),
        json_schema_extra={"pattern": IF_MATCH_PATTERN},
    )


def _version(header: str) -> int:
    """The version a well-formed If-Match names; -1 (no version) for a weak or foreign tag.

    400 for anything else (a list, `*`, a bare word): the header is wrong, not the version.
    """
    value = header.strip(" \t")
    if value.isdigit() and len(value) <= 18:
        return int(value)
    if re.fullmatch(IF_MATCH_PATTERN, header) is None:
        raise BadRequest(
            f"If-Match must be one ETag as this API hands it out, quoted: {_HOW_TO_SEND}",
            errors=[
                {"loc": ["header", "If-Match"], "msg": "not one entity tag", "type": "value_error"}
            ],
        )
    inner = value[1:-1]
    return int(inner) if inner.isdigit() else -1


def if_match(header: Annotated[str, _header(required=True)]) -> int:
    """The version named by If-Match (a strong ETag this API handed out).

    Declared required; `AdminRoute` answers 428 (not 422) when it is missing.
    """
    return _version(header)


# Typed `str` so that the schema says string (a `str | None` header would admit "null").
def optional_if_match(header: Annotated[str, _header(required=False)] = None) -> int | None:  # type: ignore[assignment]
    return None if header is None else _version(header)


class AdminRoute(APIRoute):
    """An admin route: a request without the If-Match it requires is answered 428."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handle_with_precondition(request: Request) -> Response:
            try:
                return await handle(request)
            except RequestValidationError as exc:
                if any(_missing_if_match(e) for e in exc.errors()):
                    raise PreconditionRequired(_HOW_TO_SEND) from None
                raise

        return handle_with_precondition


def _missing_if_match(error: Any) -> bool:
    return error.get("type") == "missing" and list(error.get("loc", ())) == ["header", "If-Match"]


IfMatch = Annotated[int, Depends(if_match)]
OptionalIfMatch = Annotated[int | None, Depends(optional_if_match)]


@dataclass
class Idempotency:
    """The Idempotency-Key of a POST and a hash of what was asked (method, path, query, body)."""

    key: str | None
    request_hash: str

    def replay(self, session: Session, actor: ApiKey) -> JSONResponse | None:
        """The first answer to this key, if there was one; 422 if the key came with another body."""
        if self.key is None:
            return None
        stored = session.scalars(
            select(IdempotentResponse).where(
                col(IdempotentResponse.actor) == actor.name, col(IdempotentResponse.key) == self.key
            )
        ).first()
        if stored is None:
            return None
        if stored.request_hash != self.request_hash:
            raise Unprocessable(
                "This Idempotency-Key was used with a different request; use a new key.",
                errors=[
                    {
                        "loc": ["header", "Idempotency-Key"],
                        "msg": "reused with a different request",
                        "type": "value_error",
                    }
                ],
            )
        headers = {**NO_STORE, "Idempotent-Replayed": "true"}
        if stored.etag:
            headers["ETag"] = stored.etag
        return JSONResponse(stored.body, status_code=stored.status_code, headers=headers)

    def save(
        self, session: Session, actor: ApiKey, status: int, body: Any, tag: str | None
    ) -> None:
        if self.key is not None:
            session.add(
                IdempotentResponse(
                    actor=actor.name,
                    key=self.key,
                    request_hash=self.request_hash,
                    status_code=status,
                    body=body,
                    etag=tag,
                )
            )


async def idempotency(
    request: Request,
    key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            min_length=1,
            max_length=IDEMPOTENCY_KEY_MAX,
            description="A retry with the same key and body replays the first answer.",
        ),
    ] = None,
) -> Idempotency:
    raw = await request.body()
    try:
        body = json.dumps(json.loads(raw), sort_keys=True) if raw else ""
    except ValueError:
        body = raw.decode("utf-8", "replace")
    what = f"{request.method} {request.url.path}?{request.url.query}\n{body}"
    return Idempotency(key, hashlib.sha256(what.encode()).hexdigest())


IdempotencyDep = Annotated[Idempotency, Depends(idempotency)]


def commit_answer(
    session: Session,
    body: Any,
    *,
    status: int = 200,
    version: int | None = None,
    actor: ApiKey | None = None,
    idem: Idempotency | None = None,
) -> JSONResponse:
    """Commit the change with its revision (and the answer kept for its Idempotency-Key)."""
    body = jsonable_encoder(body)
    tag = etag(version) if version is not None else None
    if idem is not None and actor is not None:
        idem.save(session, actor, status, body, tag)
    try:
        session.commit()
    except IntegrityError:
        # The same Idempotency-Key raced this request, and won: answer as it did.
        session.rollback()
        if idem is not None and actor is not None:
            replayed = idem.replay(session, actor)
            if replayed is not None:
                return replayed
        raise
    headers = dict(NO_STORE)
    if tag:
        headers["ETag"] = tag
    return JSONResponse(body, status_code=status, headers=headers)


def entry_body(session: Session, kind: Kind, row: Any) -> dict[str, Any]:
    return AdminEntry.model_validate(editing.admin_entry(session, kind, row)).model_dump(
        mode="json"
    )


def entry_answer(
    session: Session,
    kind: Kind,
    row: Any,
    *,
    status: int = 200,
    actor: ApiKey | None = None,
    idem: Idempotency | None = None,
) -> JSONResponse:
    """An entry as editors see it, its version as a strong ETag; commits what was changed."""
    body = entry_body(session, kind, row)
    return commit_answer(session, body, status=status, version=row.version, actor=actor, idem=idem)
