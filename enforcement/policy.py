"""The staged rule's settings as data: the policy document HQ publishes, with a version (no I/O).

HQ keeps every published version (``streetpatrol-hq policy set FILE.json``); each version reaches the
phones as a ``policy`` change; a case records the version it was staged under (``Case.policy_version``)
and HQ stages it again with that same version. Version 0 is the built-in policy (``DEFAULT_POLICY``),
exactly the rule as it was before policies existed; nothing is ever published as version 0.

The document (JSON object; every key optional, unknown keys refused; ``parse_policy`` names the field)::

    {
      "window_days": 365,                  # look-back window in local calendar days, 1..3650
      "scope": "subcategory",              # "subcategory" (same 4-digit code) or "category" (2 digits)
      "fourth_and_later": "penalty",       # "penalty": 处罚 again; "aggravated": 处罚 with 从重 flagged
      "aggravate_over": 3,                 # with "aggravated": flagged for more than N in a year (1..100)
      "first_violation_exempt": ["0504"],  # 首违不罚 codes (4 digits, at most 200)
      "spot_exempts_vending": false,       # a 疏导点 in its opening hours exempts vending (read by zones)
      "street_classes": {                  # at most 20 classes (name 1..32 chars): overrides of the five
        "示范街": {"window_days": 730}     # staging settings above, applied when a case carries its
      },                                   # street class (``Case.extra["street_class"]``)
      "note": "…"                          # at most 200 chars: what changed and why
    }

What each setting does to a stage is decided in ``enforcement.staging`` (module doc: 从重, 首违不罚).
``spot_exempts_vending`` is carried, not applied here: the zones / 疏导点 code reads
``Policy.spot_exempts_vending``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from enforcement.model import EnforcementError
from enforcement.staging import Scope, StagePolicy

__all__ = [
    "DEFAULT_POLICY", "MAX_DOCUMENT_BYTES", "STREET_CLASS_KEY", "Policy", "PolicyError",
    "parse_policy", "policy_bytes",
]  # fmt: skip

#: The canonical JSON of a document is at most this long (HQ refuses a longer one; the wire bounds it).
MAX_DOCUMENT_BYTES = 16_384
MAX_WINDOW_DAYS = 3650
MAX_AGGRAVATE_OVER = 100
MAX_EXEMPT_CODES = 200
MAX_STREET_CLASSES = 20
MAX_STREET_CLASS_CHARS = 32
MAX_NOTE_CHARS = 200
#: The ``Case.extra`` key that carries the case's street class (示范街 / 规范街 / 商业街 …) when known.
STREET_CLASS_KEY = "street_class"

_REPEATS = ("penalty", "aggravated")
_STAGING_KEYS = ("window_days", "scope", "fourth_and_later", "aggravate_over", "first_violation_exempt")
_KEYS = (*_STAGING_KEYS, "spot_exempts_vending", "street_classes", "note")

_FIELD_ZH = {
    "window_days": "回溯期（天）", "scope": "计数范围", "fourth_and_later": "第四次及以后",
    "aggravate_over": "从重次数", "first_violation_exempt": "首违不罚违法类型",
    "spot_exempts_vending": "疏导点豁免", "street_classes": "街道分类", "note": "说明", "policy": "政策",
}  # fmt: skip


class PolicyError(EnforcementError):
    """A policy document that cannot be used; ``field`` names the setting (``street_classes.X.scope``)."""

    code = "policy_invalid"


def _error(path: str, zh: str, en: str) -> PolicyError:
    name = path.split(".")[0]
    return PolicyError(
        f"policy setting {path!r}: {en}",
        zh=f"政策设置“{_FIELD_ZH.get(name, name)}”（{path}）：{zh}",
        field=path,
    )


@dataclass(frozen=True, slots=True)
class Policy:
    """One published version of the policy (``version`` 0: the built-in default)."""

    version: int = 0
    staging: StagePolicy = field(default_factory=StagePolicy)
    spot_exempts_vending: bool = False
    street_classes: Mapping[str, StagePolicy] = field(default_factory=dict)
    note: str = ""
    document: Mapping[str, Any] = field(default_factory=dict)  # as published (canonical JSON form)

    def stage_policy(self, street_class: str | None = None) -> StagePolicy:
        """The staging settings for a case, with its street class's overrides when it has one."""
        if street_class and street_class in self.street_classes:
            return self.street_classes[street_class]
        return self.staging

    def stage_policy_for_extra(self, extra: Mapping[str, str]) -> StagePolicy:
        return self.stage_policy(extra.get(STREET_CLASS_KEY) or None)


DEFAULT_POLICY = Policy()


def policy_bytes(document: Mapping[str, Any]) -> int:
    """Length of the canonical JSON (sorted keys, UTF-8) of a document."""
    text = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return len(text.encode("utf-8"))


def _int(data: Mapping[str, Any], key: str, path: str, low: int, high: int) -> int | None:
    if key not in data:
        return None
    value = data[key]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _error(path, f"须为 {low} 至 {high} 的整数", f"must be a whole number from {low} to {high}")
    return value


def _staging(data: Mapping[str, Any], base: StagePolicy, prefix: str, version: int) -> StagePolicy:
    where = f"{prefix}." if prefix else ""
    window = _int(data, "window_days", f"{where}window_days", 1, MAX_WINDOW_DAYS)
    scope = base.scope
    if "scope" in data:
        try:
            scope = Scope(data["scope"])
        except ValueError:
            raise _error(
                f"{where}scope", "须为 subcategory 或 category", "must be 'subcategory' or 'category'"
            ) from None
    aggravate = base.aggravate_over
    repeat = data.get("fourth_and_later", "aggravated" if aggravate is not None else "penalty")
    if repeat not in _REPEATS:
        raise _error(
            f"{where}fourth_and_later", "须为 penalty 或 aggravated", "must be 'penalty' or 'aggravated'"
        )
    over = _int(data, "aggravate_over", f"{where}aggravate_over", 1, MAX_AGGRAVATE_OVER)
    if repeat == "penalty":
        if over is not None:
            raise _error(f"{where}aggravate_over", "仅在 fourth_and_later 为 aggravated 时可设置",
                         "only with fourth_and_later 'aggravated'")  # fmt: skip
        aggravate = None
    else:
        aggravate = over if over is not None else aggravate
        if aggravate is None:
            raise _error(f"{where}aggravate_over", "fourth_and_later 为 aggravated 时必须设置",
                         "is required with fourth_and_later 'aggravated'")  # fmt: skip
    exempt = base.first_violation_exempt
    if "first_violation_exempt" in data:
        codes = data["first_violation_exempt"]
        path = f"{where}first_violation_exempt"
        if not isinstance(codes, list) or len(codes) > MAX_EXEMPT_CODES:
            raise _error(path, f"须为不超过 {MAX_EXEMPT_CODES} 个违法类型代码的列表",
                         f"must be a list of at most {MAX_EXEMPT_CODES} violation codes")  # fmt: skip
        for code in codes:
            if not isinstance(code, str) or len(code) != 4 or not code.isascii() or not code.isdigit():
                raise _error(path, f"违法类型代码须为 4 位数字：{str(code)[:8]!r}",
                             f"a violation code is 4 digits: {str(code)[:8]!r}")  # fmt: skip
        exempt = frozenset(codes)
    return StagePolicy(
        window_days=window if window is not None else base.window_days,
        scope=scope,
        aggravate_over=aggravate,
        first_violation_exempt=exempt,
        version=version,
    )


def parse_policy(document: Any, version: int = 0) -> Policy:
    """The policy a document describes, as version ``version``; ``PolicyError`` naming the first bad field
    (in zh and en). Missing settings keep the built-in default's."""
    if not isinstance(document, Mapping):
        raise _error("policy", "须为 JSON 对象", "must be a JSON object")
    if policy_bytes(document) > MAX_DOCUMENT_BYTES:
        raise _error("policy", f"内容过长（上限 {MAX_DOCUMENT_BYTES} 字节）",
                     f"is too long (at most {MAX_DOCUMENT_BYTES} bytes)")  # fmt: skip
    for key in document:
        if key not in _KEYS:
            raise _error(str(key)[:40], "未知的设置项", "unknown setting")
    staging = _staging(document, StagePolicy(), "", version)
    spot = document.get("spot_exempts_vending", False)
    if not isinstance(spot, bool):
        raise _error("spot_exempts_vending", "须为 true 或 false", "must be true or false")
    note = document.get("note", "")
    if not isinstance(note, str) or len(note) > MAX_NOTE_CHARS:
        raise _error(
            "note",
            f"须为不超过 {MAX_NOTE_CHARS} 字的文字",
            f"must be text of at most {MAX_NOTE_CHARS} characters",
        )
    classes = document.get("street_classes", {})
    if not isinstance(classes, Mapping) or len(classes) > MAX_STREET_CLASSES:
        raise _error("street_classes", f"须为不超过 {MAX_STREET_CLASSES} 个街道分类的对象",
                     f"must be an object of at most {MAX_STREET_CLASSES} street classes")  # fmt: skip
    by_class: dict[str, StagePolicy] = {}
    for name, overrides in classes.items():
        if not isinstance(name, str) or not 1 <= len(name.strip()) <= MAX_STREET_CLASS_CHARS:
            raise _error("street_classes", f"街道分类名称须为 1 至 {MAX_STREET_CLASS_CHARS} 字",
                         f"a street class name is 1 to {MAX_STREET_CLASS_CHARS} characters")  # fmt: skip
        path = f"street_classes.{name}"
        if not isinstance(overrides, Mapping):
            raise _error(path, "须为 JSON 对象", "must be a JSON object")
        for key in overrides:
            if key not in _STAGING_KEYS:
                raise _error(f"{path}.{str(key)[:40]}", "街道分类只能调整计次设置", "not a staging setting")
        by_class[name] = _staging(overrides, staging, path, version)
    return Policy(
        version=version,
        staging=staging,
        spot_exempts_vending=spot,
        street_classes=by_class,
        note=note,
        document=json.loads(json.dumps(dict(document), sort_keys=True, ensure_ascii=False)),
    )


def _describe_staging(s: StagePolicy, lang: str) -> str:
    zh = lang == "zh"
    parts = [
        f"回溯期 {s.window_days} 天" if zh else f"{s.window_days}-day window",
        ("按小类计次" if s.scope is Scope.SUBCATEGORY else "按大类计次")
        if zh
        else ("counted by subcategory" if s.scope is Scope.SUBCATEGORY else "counted by category"),
    ]
    if s.aggravate_over is None:
        parts.append("第四次及以后：处罚" if zh else "4th and later: penalty")
    else:
        parts.append(
            f"第四次及以后：处罚，一年内超过 {s.aggravate_over} 次从重"
            if zh
            else f"4th and later: penalty, aggravated over {s.aggravate_over} in a year"
        )
    codes = "、".join(sorted(s.first_violation_exempt)) if zh else ", ".join(sorted(s.first_violation_exempt))
    parts.append(f"首违不罚：{codes or '无'}" if zh else f"first violation no penalty: {codes or 'none'}")
    return " · ".join(parts)


def describe(policy: Policy, lang: str = "zh") -> list[str]:
    """The settings in force, one line each, for the CLI and the dashboard."""
    zh = lang == "zh"
    name = (
        (f"第 {policy.version} 版政策" if zh else f"policy version {policy.version}")
        if policy.version
        else ("内置规则（第 0 版）" if zh else "built-in rule (version 0)")
    )
    lines = [name, _describe_staging(policy.staging, lang)]
    lines.append(
        ("疏导点营业时间内豁免占道经营：" + ("是" if policy.spot_exempts_vending else "否"))
        if zh
        else ("a 疏导点 in its hours exempts vending: " + ("yes" if policy.spot_exempts_vending else "no"))
    )
    for street, settings in sorted(policy.street_classes.items()):
        lines.append(
            f"{street}：{_describe_staging(settings, lang)}"
            if zh
            else f"{street}: {_describe_staging(settings, lang)}"
        )
    if policy.note:
        lines.append(("说明：" if zh else "note: ") + policy.note)
    return lines
