"""The staged rule's policy for HQ users, as an ``APIRouter`` (tag ``read``).

    GET /v1/policy   → PolicyInfo: the version in force and every published version (HQ users only:
                       403 ``FORBIDDEN`` to officers and leaders, whose phones get it as a change)

Publishing is HQ's command line (``streetpatrol-hq policy set``, ``hq.cli.policy``): no route edits it.
"""

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends

from enforcement.policy import DEFAULT_POLICY, describe, parse_policy
from hq.api.errors import ERROR_RESPONSES, ApiError
from hq.auth import Principal
from hq.storage.base import PolicyRow, Storage
from sync.protocol import Errno, PolicyInfo, PolicyVersion


def policy_version(row: PolicyRow) -> PolicyVersion:
    policy = parse_policy(row.document, row.version)
    return PolicyVersion(
        version=row.version,
        document=dict(row.document),
        created_at=row.created_at,
        created_by=row.created_by,
        summary_zh=describe(policy, "zh"),
        summary_en=describe(policy, "en"),
    )


def build_router(storage: Storage, principal: Callable[..., Principal]) -> APIRouter:
    router = APIRouter()
    Caller = Annotated[Principal, Depends(principal)]

    @router.get("/v1/policy", response_model=PolicyInfo, responses=ERROR_RESPONSES, tags=["read"])
    def policy(caller: Caller) -> PolicyInfo:
        if not caller.is_hq:
            raise ApiError(Errno.FORBIDDEN)
        with storage.transaction(readonly=True) as tx:
            rows = tx.list_policies()
        history = [policy_version(r) for r in rows]
        return PolicyInfo(
            current=history[0] if history else None,
            builtin_zh=describe(DEFAULT_POLICY, "zh"),
            builtin_en=describe(DEFAULT_POLICY, "en"),
            history=history,
        )

    return router
