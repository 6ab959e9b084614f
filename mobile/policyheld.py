"""The staged rule's policy the phone holds (``enforcement.policy``), kept in the store's ``meta`` table
under ``metakeys.POLICY`` as ``{"version": N, "document": {...}}``.

The HQ client stores what a pull brings (``mobile.hqclient.cycle``: the ``policy`` change, never an older
version over a newer one) and tells HQ which version it holds (``GET /v1/changes?policy=N``); the new-case
draft stages with it (``mobile.state.new_case``) and the case records its version. A phone that has not
pulled one yet, or whose stored value cannot be read, stages with the built-in rule (version 0).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from enforcement.policy import DEFAULT_POLICY, Policy, PolicyError, parse_policy
from mobile import metakeys

MetaGet = Callable[..., Any]


def held_policy(meta_get: MetaGet) -> Policy:
    """The policy this phone stages with."""
    value = meta_get(metakeys.POLICY)
    if not isinstance(value, Mapping):
        return DEFAULT_POLICY
    version = value.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        return DEFAULT_POLICY
    try:
        return parse_policy(value.get("document"), version)
    except PolicyError:
        return DEFAULT_POLICY


def held_version(meta_get: MetaGet) -> int:
    return held_policy(meta_get).version


def policy_value(version: int, document: Mapping[str, Any]) -> dict[str, Any]:
    """What ``metakeys.POLICY`` holds."""
    return {"version": version, "document": dict(document)}
