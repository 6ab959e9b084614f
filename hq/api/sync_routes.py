"""Push and pull, as an ``APIRouter`` (tag ``sync``); the wire shapes are ``sync.protocol``'s.

POST /v1/push                      PushBatch → PushResponse (``hq.ingest.push.ingest_batch``: one
                                   transaction; the answer is sent after commit). The body is read
                                   by the route and parsed in a worker thread, records counted
                                   first (``hq.api.pushbody``), never on the event loop
GET  /v1/changes?cursor=&limit=&policy=&aliases=&books=  → PullPage (the caller's scope of the change
                                   feed, oldest first; ``policy``: the version the phone holds,
                                   ``hq.policy``; ``books``: the caller's notice books on the last page,
                                   ``hq.notices.pull_books``)
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from enforcement.catalogue import Catalogue
from enforcement.model import Role
from enforcement.validation import MAX_POLICY_VERSION
from hq.api.callers import token_dependency
from hq.api.errors import ERROR_RESPONSES, ApiError, unsupported_protocol
from hq.api.jsonanswer import json_response
from hq.api.pushbody import TooManyRecords, parse_push
from hq.auth import Auth, Principal
from hq.feed import history_since
from hq.ingest.push import ingest_batch
from hq.notices import pull_books
from hq.policy import current as current_policy
from hq.policy import policy_change
from hq.settings import Settings
from hq.storage.base import Change as StoredChange
from hq.storage.base import ChangeKind, Storage
from sync.protocol import (
    MAX_BATCH_RECORDS,
    SUPPORTED_PROTOCOLS,
    Change,
    Errno,
    PullPage,
    PushBatch,
    PushResponse,
)

#: The request body of ``POST /v1/push`` in the OpenAPI (the route reads the body itself).
_PUSH_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PushBatch"}}},
    }
}


def publish_push_schema(app: FastAPI) -> None:
    """Add ``PushBatch`` (and what it refers to) to the app's OpenAPI components: the push route reads its
    body itself, so FastAPI does not publish the model on its own."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            batch = PushBatch.model_json_schema(ref_template="#/components/schemas/{model}")
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(batch.pop("$defs", {}))
            components["PushBatch"] = batch
        return app.openapi_schema or generate()

    app.openapi = openapi  # type: ignore[method-assign]


def wire_change(change: StoredChange) -> Change:
    """A stored change as the phone receives it (``sync.protocol`` documents the data shapes). HQ wrote
    the stored change itself, so the wire model is constructed without validating it again."""
    data = dict(change.data)
    if change.kind is ChangeKind.TOMBSTONE:
        data = {"kind": "subject", "id": change.key}
    return Change.model_construct(kind=change.kind.value, id=change.key, data=data)


def build_router(
    storage: Storage,
    settings: Settings,
    catalogue: Catalogue,
    auth: Auth,
) -> APIRouter:
    """The push and pull routes. Both check the caller's token with ``auth`` first thing in their one
    worker-thread hop (``hq.api.callers.token_dependency``)."""
    router = APIRouter()
    Token = Annotated[str, Depends(token_dependency())]

    @router.post(
        "/v1/push",
        response_model=PushResponse,
        responses=ERROR_RESPONSES,
        tags=["sync"],
        openapi_extra=_PUSH_BODY,
    )
    async def push(request: Request, token: Token) -> Response:
        # The body is parsed here, in a worker thread, not by FastAPI on the event loop; an over-cap batch
        # is refused as soon as its record ``cap + 1`` is seen. The token's check, parsing, ingest and
        # encoding the answer share that one worker-thread hop.
        raw = await request.body()
        return await run_in_threadpool(push_body, token, raw, request.headers.get("content-type"))

    def push_body(token: str, raw: bytes, content_type: str | None) -> Response:
        caller = auth.authenticate(token)  # first: a refused token is told so before anything is parsed
        cap = min(settings.max_batch_records, MAX_BATCH_RECORDS)
        try:
            body = parse_push(raw, content_type, cap)
        except TooManyRecords as exc:
            raise ApiError(
                Errno.BATCH_TOO_MANY_RECORDS, detail={"records": exc.count, "max_records": cap}
            ) from None
        return json_response(ingest_push(body, caller))

    def ingest_push(body: PushBatch, caller: Principal) -> PushResponse:
        if body.protocol not in SUPPORTED_PROTOCOLS:
            raise unsupported_protocol(body.protocol)
        if body.device_id != caller.device_id:
            raise ApiError(Errno.DEVICE_MISMATCH)
        results = ingest_batch(
            storage, caller.officer, caller.device_id, body.records, catalogue=catalogue, now=settings.clock()
        )
        return PushResponse(results=results, server_time=settings.clock())

    @router.get("/v1/changes", response_model=PullPage, responses=ERROR_RESPONSES, tags=["sync"])
    def changes(
        token: Token,
        cursor: Annotated[str | None, Query(max_length=200)] = None,
        limit: Annotated[int | None, Query(ge=1)] = None,
        policy: Annotated[int | None, Query(ge=0, le=MAX_POLICY_VERSION)] = None,
        aliases: bool = False,
        books: bool = False,
    ) -> Response:
        caller = auth.authenticate(token)  # in the route's own worker-thread hop (hq.api.callers)
        size = min(limit or settings.default_pull_limit, settings.max_pull_limit)
        now = settings.clock()
        with storage.transaction(readonly=True) as tx:
            page = tx.changes_after(
                cursor or None,
                district=caller.district,
                badge=caller.badge,
                squad=caller.officer.squad_code if caller.role is Role.LEADER else None,
                history_since=history_since(now, settings.history_window.days, current_policy(tx)),
                squad_since=now - settings.squad_window,
                limit=size,
            )
            changes = policy_change(tx, policy, page.changes)
            if not aliases:  # a phone that does not know the subject_alias kind (sync.protocol)
                changes = [c for c in changes if c.kind is not ChangeKind.SUBJECT_ALIAS]
        notice_books = None
        if books and not page.more:  # the officer's notice books, a new one issued when running low
            notice_books = pull_books(storage, caller.officer, now=now)
        # Built from HQ's own stored changes: constructed, not validated again, and encoded by
        # pydantic-core (``json_response``).
        return json_response(
            PullPage.model_construct(
                changes=[wire_change(c) for c in changes],
                cursor=page.cursor,
                more=page.more,
                server_time=now,
                notice_books=notice_books,
            )
        )

    return router
