"""HQ's side of the staged rule's policy as data (``enforcement.policy``): publishing a version, and which
version stages a case.

- **Publishing** (``publish``): the document is checked by ``enforcement.policy.parse_policy`` (a
  ``PolicyError`` names the field in zh and en), stored as the next version with who and when
  (``Tx.add_policy``; every version is kept), sent to every phone as the ``policy`` change, and audited
  (``policy_set``). Publishing restages nothing.
- **Which version stages a case** (``resolve``): the version the case names (``Case.policy_version``, the
  one the phone staged it under) when HQ published it; otherwise (0: an older phone, a phone that has
  not pulled any policy yet; or a version HQ never published) the version in force when the case
  arrives. The version used is stored with HQ's stage (``CaseState.policy_version``) and is the one
  every later restage of that case uses (``hq.restage.restage_after``): a new policy applies to cases
  staged after it, and earlier cases keep their version's verdict.
- **Saying so**: when the version HQ used is not the one the phone named, HQ's reason says which it was
  ("（按第 N 版政策）" / " (under policy version N)"; version 0 is the built-in rule, "内置规则").
- A case's street class (``Case.extra["street_class"]``) picks that class's overrides of the version.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from enforcement.model import Case
from enforcement.policy import (
    DEFAULT_POLICY,
    MAX_DOCUMENT_BYTES,
    Policy,
    PolicyError,
    parse_policy,
    policy_bytes,
)
from enforcement.staging import StageDecision, StagePolicy
from hq.storage.base import Change as StoredChange
from hq.storage.base import ChangeKind, PolicyRow, StageVerdict, Tx

__all__ = [
    "current", "policy_change", "policy_of", "publish", "resolve", "stage_policy_for", "verdict_under",
    "version_note",
]  # fmt: skip


def policy_of(tx: Tx, version: int) -> Policy | None:
    """The published version ``version`` (0: the built-in rule); None when HQ never published it."""
    if version == 0:
        return DEFAULT_POLICY
    row = tx.get_policy(version)
    return parse_policy(row.document, row.version) if row is not None else None


def current(tx: Tx) -> Policy:
    """The policy in force: the newest published version, else the built-in rule (version 0)."""
    row = tx.get_policy()
    return parse_policy(row.document, row.version) if row is not None else DEFAULT_POLICY


def resolve(tx: Tx, named: int) -> Policy:
    """The version that stages a case naming ``named`` (see the module doc)."""
    if named > 0:
        found = policy_of(tx, named)
        if found is not None:
            return found
    return current(tx)


def stage_policy_for(policy: Policy, case: Case | None) -> StagePolicy:
    """The settings for ``case``: its street class's overrides when it carries one."""
    return policy.stage_policy_for_extra(case.extra) if case is not None else policy.staging


def version_note(version: int, lang: str) -> str:
    if lang == "zh":
        return f"（按第 {version} 版政策）" if version else "（按内置规则）"
    return f" (under policy version {version})" if version else " (under the built-in rule)"


def verdict_under(decision: StageDecision, phone_version: int) -> StageVerdict:
    """HQ's verdict with its policy version; the reason names the version when it is not the phone's."""
    zh, en = decision.explain("zh"), decision.explain("en")
    if decision.policy_version != phone_version:
        zh += version_note(decision.policy_version, "zh")
        en += version_note(decision.policy_version, "en")
    return StageVerdict(decision.stage, decision.ordinal, zh, en, decision.policy_version)


def publish(tx: Tx, document: Any, *, by: str, at: datetime) -> PolicyRow:
    """Check ``document`` and publish it as the next version (``PolicyError`` naming the field)."""
    if isinstance(document, Mapping) and policy_bytes(document) > MAX_DOCUMENT_BYTES:
        raise PolicyError(
            f"the policy document is longer than {MAX_DOCUMENT_BYTES} bytes",
            zh=f"政策文件超过 {MAX_DOCUMENT_BYTES} 字节",
            field="policy",
        )
    parsed = parse_policy(document)
    row = tx.add_policy(parsed.document, at=at, by=by)
    tx.audit(by, "policy_set", target=f"policy:{row.version}",
             detail={"version": row.version, "document": dict(row.document)})  # fmt: skip
    return row


def policy_change(tx: Tx, held: int | None, changes: list[StoredChange]) -> list[StoredChange]:
    """A pull page's changes for a phone holding policy version ``held`` (None: a phone that does not know
    the ``policy`` kind; every ``policy`` change is left out). When the version in force is newer than
    ``held`` and the page has none, it is added at the end (the phone's cursor may be past it)."""
    if held is None:
        return [c for c in changes if c.kind is not ChangeKind.POLICY]
    if any(c.kind is ChangeKind.POLICY for c in changes):
        return changes
    row = tx.get_policy()
    if row is None or row.version <= held:
        return changes
    data = {"version": row.version, "document": dict(row.document), "created_at": row.created_at.isoformat()}
    return [*changes, StoredChange(ChangeKind.POLICY, "policy", data)]
