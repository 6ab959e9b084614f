"""The violation catalogue: GB/T 30428.2-style event codes kept as data (``assets/catalogue.json``).

A code is the category (2 digits) followed by the subcategory (2 digits), e.g. ``0510`` 露天烧烤 in
category ``05`` 街面秩序. The file is validated in full when loaded: a malformed catalogue raises
``CatalogueError`` whose message names the file, the entry (its code, or its index when the code itself
is bad) and the field, so whoever edits the data can fix it without reading code.

File format 1::

    {"format": 1, "version": "2026.12-1", "note": "...",
     "categories": [{"code": "05", "name_zh": "街面秩序", "name_en": "Street order"}, ...],
     "violations": [{"code": "0510", "category": "05", "name_zh": ..., "name_en": ...,
                     "subject_kinds": ["mobile_vendor", ...], "legal_basis": "《…》第…条",
                     "fine_min": 500, "fine_max": 20000, "seizure_allowed": true,
                     "icon": "OUTDOOR_GRILL", "common_names": ["露天烧烤"]}, ...]}

Optional, added later (an older catalogue without them means: no minimum, HQ's default photo policy):

- ``"min_photos": {"persuasion": 0, "warning": 1, "penalty": 1}`` at the top: how many photos a case of
  each stage (the stage applied, 劝导/警告/处罚) must have; a violation's own ``"min_photos"`` (some of
  the three stages) overrides it for that violation. ``enforcement.validation.case_problems`` enforces
  it, on the phone before saving and at HQ on ingest;
- ``"photo_policy": {"watermark": true, "long_edge": 1600}``: HQ's policy for evidence photos, which
  the phone applies (the officer cannot turn the watermark off or change the size).

``fine_min == fine_max == 0`` means the bureau does not fine for that violation (persuade, warn, refer).
``icon`` is the name of a member of Flet's ``ft.Icons``; only its form is checked here (this package
does not import Flet), the test suite checks that every name exists.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from enforcement.model import CatalogueError, Stage, SubjectKind
from enforcement.text import Lang

FORMAT = 1
DEFAULT_PATH = Path(__file__).resolve().parents[1] / "assets" / "catalogue.json"

_CATEGORY_CODE = re.compile(r"[0-9]{2}")
_VIOLATION_CODE = re.compile(r"[0-9]{4}")
_ICON_NAME = re.compile(r"[A-Z][A-Z0-9_]*")

_TOP_FIELDS = {"format", "version", "note", "categories", "violations", "min_photos", "photo_policy"}
#: The stages' names in ``min_photos``.
STAGE_KEYS = {"persuasion": Stage.PERSUASION, "warning": Stage.WARNING, "penalty": Stage.PENALTY}
#: The most photos a minimum may ask for (a case holds at most ``validation.MAX_PHOTOS``).
MAX_MIN_PHOTOS = 9
PHOTO_EDGE_MIN = 640
PHOTO_EDGE_MAX = 4096
_POLICY_FIELDS = {"watermark", "long_edge"}
_CATEGORY_FIELDS = {"code", "name_zh", "name_en"}
_VIOLATION_FIELDS = {
    "code",
    "category",
    "name_zh",
    "name_en",
    "subject_kinds",
    "legal_basis",
    "fine_min",
    "fine_max",
    "seizure_allowed",
    "icon",
    "common_names",
    "min_photos",
}


@dataclass(frozen=True, slots=True)
class Category:
    code: str  # "05"
    name_zh: str
    name_en: str

    def name(self, lang: Lang = "zh") -> str:
        return self.name_zh if lang == "zh" else self.name_en


@dataclass(frozen=True, slots=True)
class Violation:
    code: str  # "0510"
    category: str  # "05"
    name_zh: str
    name_en: str
    subject_kinds: frozenset[SubjectKind]
    legal_basis: str  # Chinese text citing the regulation and article
    fine_min: int  # yuan
    fine_max: int  # yuan
    seizure_allowed: bool
    icon: str  # a Flet ``ft.Icons`` member name
    common_names: tuple[str, ...] = ()
    #: This violation's own minimum photos per stage (over the catalogue's); empty: the catalogue's.
    min_photos: Mapping[Stage, int] = field(default_factory=lambda: MappingProxyType({}))

    def name(self, lang: Lang = "zh") -> str:
        return self.name_zh if lang == "zh" else self.name_en

    @property
    def fines(self) -> bool:
        """Whether the bureau may fine for this violation at all."""
        return self.fine_max > 0


@dataclass(frozen=True, slots=True)
class Catalogue:
    """The loaded catalogue. Iterates violations in code order."""

    version: str
    categories: tuple[Category, ...]
    violations: Mapping[str, Violation]
    #: Photos a case of each stage must have, unless its violation says otherwise (``min_photos_for``).
    min_photos: Mapping[Stage, int] = field(default_factory=lambda: MappingProxyType({}))
    #: HQ's photo policy, applied by the phone: watermark burned in, and the evidence photo's long edge.
    photo_watermark: bool = True
    photo_long_edge: int = 1600

    def min_photos_for(self, code: str, stage: Stage) -> int:
        """How many photos a case of violation ``code`` at ``stage`` must have (0: none required)."""
        violation = self.violations.get(code)
        if violation is not None and stage in violation.min_photos:
            return violation.min_photos[stage]
        return self.min_photos.get(stage, 0)

    def get(self, code: str) -> Violation:
        try:
            return self.violations[code]
        except KeyError:
            raise CatalogueError(
                f"unknown violation code {code!r} (catalogue {self.version})",
                zh=f"违法类型代码“{code}”不在目录中（目录版本 {self.version}）",
                field="violation_code",
            ) from None

    def __contains__(self, code: object) -> bool:
        return code in self.violations

    def name(self, code: str, lang: Lang = "zh") -> str:
        return self.get(code).name(lang)

    def label(self, code: str, lang: Lang = "zh", *, unknown: str | None = None) -> str:
        """The violation's name, for a code this catalogue may not know (a case recorded under another
        catalogue version): ``unknown`` then, or the code itself when ``unknown`` is None."""
        if code in self:
            return self.name(code, lang)
        return code if unknown is None else unknown

    def category(self, code: str) -> Category:
        """The category of a 2-digit category code or of a 4-digit violation code."""
        for category in self.categories:
            if category.code == code[:2]:
                return category
        raise CatalogueError(
            f"unknown category {code[:2]!r}", zh=f"类别“{code[:2]}”不在目录中", field="category"
        )

    def in_category(self, category_code: str) -> list[Violation]:
        return [v for v in self if v.category == category_code]

    def find(self, text: str) -> list[Violation]:
        """Violations whose code, names or common names contain ``text`` (e.g. "占道经营" → 0501, 0504)."""
        needle = text.strip().casefold()
        if not needle:
            return []
        return [
            v
            for v in self
            if any(needle in hay.casefold() for hay in (v.code, v.name_zh, v.name_en, *v.common_names))
        ]

    def __iter__(self) -> Iterator[Violation]:
        return iter(self.violations[code] for code in sorted(self.violations))

    def __len__(self) -> int:
        return len(self.violations)


def load_catalogue(path: Path | None = None) -> Catalogue:
    """Read and validate a catalogue file (default: the shipped ``assets/catalogue.json``)."""
    path = DEFAULT_PATH if path is None else Path(path)
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogueError(
            f"{source}: cannot read the catalogue ({exc.strerror or exc})",
            zh=f"{source}：无法读取违法类型目录（{exc.strerror or exc}）",
        ) from exc
    except UnicodeDecodeError as exc:
        raise CatalogueError(
            f"{source}: the catalogue is not UTF-8 text", zh=f"{source}：违法类型目录不是 UTF-8 文本"
        ) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CatalogueError(
            f"{source}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})",
            zh=f"{source}：不是有效的 JSON（第 {exc.lineno} 行第 {exc.colno} 列：{exc.msg}）",
        ) from exc
    return parse_catalogue(data, source)


def parse_catalogue(data: object, source: str) -> Catalogue:
    """Validate the JSON form of a catalogue; ``source`` names it in error messages (a path or "HQ")."""
    if not isinstance(data, dict):
        raise _error(source, "", "", "the top level must be a JSON object", "顶层必须是 JSON 对象")
    _no_unknown_fields(source, "", data, _TOP_FIELDS)
    fmt = data.get("format")
    if fmt != FORMAT or isinstance(fmt, bool):
        raise _error(
            source, "", "format", f"unsupported format {fmt!r} (expected {FORMAT})", f"不支持的格式 {fmt!r}"
        )
    version = _text(source, "", data, "version")
    categories = _parse_categories(source, _list(source, "", data, "categories"))
    known = {c.code for c in categories}
    raw = _list(source, "", data, "violations")
    if not raw:
        raise _error(source, "", "violations", "no violations listed", "没有列出任何违法类型")
    violations: dict[str, Violation] = {}
    for index, entry in enumerate(raw):
        violation = _parse_violation(source, index, entry, known)
        if violation.code in violations:
            raise _error(
                source, violation.code, "code", "duplicate code (listed twice)", "代码重复（出现了两次）"
            )
        violations[violation.code] = violation
    watermark, long_edge = _photo_policy(source, data)
    return Catalogue(
        version=version,
        categories=categories,
        violations=MappingProxyType(violations),
        min_photos=_min_photos(source, "", data),
        photo_watermark=watermark,
        photo_long_edge=long_edge,
    )


def _min_photos(source: str, where: str, entry: dict[str, Any]) -> Mapping[Stage, int]:
    raw = entry.get("min_photos", {})
    if not isinstance(raw, dict):
        raise _error(source, where, "min_photos", "must be a JSON object", "必须是 JSON 对象")
    result: dict[Stage, int] = {}
    for key, value in raw.items():
        if key not in STAGE_KEYS:
            names = ", ".join(STAGE_KEYS)
            raise _error(
                source,
                where,
                "min_photos",
                f"unknown stage {key!r} (allowed: {names})",
                f"未知的处置阶段 {key!r}（可用：{names}）",
            )
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_MIN_PHOTOS:
            raise _error(
                source,
                where,
                "min_photos",
                f"{key}: must be a whole number 0..{MAX_MIN_PHOTOS}, got {value!r}",
                f"{key}：必须是 0 到 {MAX_MIN_PHOTOS} 的整数，实际为 {value!r}",
            )
        result[STAGE_KEYS[key]] = value
    return MappingProxyType(result)


def _photo_policy(source: str, data: dict[str, Any]) -> tuple[bool, int]:
    raw = data.get("photo_policy", {})
    if not isinstance(raw, dict):
        raise _error(source, "", "photo_policy", "must be a JSON object", "必须是 JSON 对象")
    _no_unknown_fields(source, "photo_policy", raw, _POLICY_FIELDS)
    watermark = raw.get("watermark", True)
    if not isinstance(watermark, bool):
        raise _error(source, "photo_policy", "watermark", "must be true or false", "必须是 true 或 false")
    edge = raw.get("long_edge", 1600)
    if not isinstance(edge, int) or isinstance(edge, bool) or not PHOTO_EDGE_MIN <= edge <= PHOTO_EDGE_MAX:
        raise _error(
            source,
            "photo_policy",
            "long_edge",
            f"must be {PHOTO_EDGE_MIN}..{PHOTO_EDGE_MAX} px, got {edge!r}",
            f"必须是 {PHOTO_EDGE_MIN} 到 {PHOTO_EDGE_MAX} 像素，实际为 {edge!r}",
        )
    return watermark, edge


def _parse_categories(source: str, raw: list[Any]) -> tuple[Category, ...]:
    if not raw:
        raise _error(source, "", "categories", "no categories listed", "没有列出任何类别")
    result: list[Category] = []
    for index, entry in enumerate(raw):
        where = f"categories[{index}]"
        if not isinstance(entry, dict):
            raise _error(source, where, "", "must be a JSON object", "必须是 JSON 对象")
        code = entry.get("code")
        if isinstance(code, str) and _CATEGORY_CODE.fullmatch(code):
            where = f"category {code}"
        _no_unknown_fields(source, where, entry, _CATEGORY_FIELDS)
        if not isinstance(code, str) or not _CATEGORY_CODE.fullmatch(code):
            raise _error(
                source, where, "code", f"must be 2 digits, got {code!r}", f"必须是2位数字，实际为 {code!r}"
            )
        if any(c.code == code for c in result):
            raise _error(source, where, "code", "duplicate category code", "类别代码重复")
        result.append(
            Category(code, _text(source, where, entry, "name_zh"), _text(source, where, entry, "name_en"))
        )
    return tuple(result)


def _parse_violation(source: str, index: int, entry: object, categories: set[str]) -> Violation:
    where = f"violations[{index}]"
    if not isinstance(entry, dict):
        raise _error(source, where, "", "must be a JSON object", "必须是 JSON 对象")
    code = entry.get("code")
    if not isinstance(code, str) or not _VIOLATION_CODE.fullmatch(code):
        raise _error(
            source, where, "code", f"must be 4 digits, got {code!r}", f"必须是4位数字，实际为 {code!r}"
        )
    where = code
    _no_unknown_fields(source, where, entry, _VIOLATION_FIELDS)
    category = _text(source, where, entry, "category")
    if category != code[:2]:
        raise _error(
            source,
            where,
            "category",
            f"{category!r} does not match the code (expected {code[:2]!r})",
            f"“{category}”与代码不符（应为“{code[:2]}”）",
        )
    if category not in categories:
        raise _error(
            source, where, "category", f"category {category!r} is not listed", f"类别“{category}”未列出"
        )
    kinds = _subject_kinds(source, where, entry)
    fine_min = _int(source, where, entry, "fine_min")
    fine_max = _int(source, where, entry, "fine_max")
    if fine_min > fine_max:
        raise _error(
            source,
            where,
            "fine_min",
            f"fine_min {fine_min} is above fine_max {fine_max}",
            f"最低罚款 {fine_min} 高于最高罚款 {fine_max}",
        )
    seizure = entry.get("seizure_allowed")
    if not isinstance(seizure, bool):
        raise _error(source, where, "seizure_allowed", "must be true or false", "必须是 true 或 false")
    icon = _text(source, where, entry, "icon")
    if not _ICON_NAME.fullmatch(icon):
        raise _error(
            source,
            where,
            "icon",
            f"{icon!r} is not a Flet icon name (e.g. OUTDOOR_GRILL)",
            f"图标名“{icon}”格式无效",
        )
    common = entry.get("common_names", [])
    if not isinstance(common, list) or not all(isinstance(n, str) and n.strip() for n in common):
        raise _error(
            source, where, "common_names", "must be a list of non-empty texts", "必须是非空文字的列表"
        )
    return Violation(
        code=code,
        category=category,
        name_zh=_text(source, where, entry, "name_zh"),
        name_en=_text(source, where, entry, "name_en"),
        subject_kinds=kinds,
        legal_basis=_text(source, where, entry, "legal_basis"),
        fine_min=fine_min,
        fine_max=fine_max,
        seizure_allowed=seizure,
        icon=icon,
        common_names=tuple(n.strip() for n in common),
        min_photos=_min_photos(source, where, entry),
    )


def _subject_kinds(source: str, where: str, entry: dict[str, Any]) -> frozenset[SubjectKind]:
    raw = entry.get("subject_kinds")
    if not isinstance(raw, list) or not raw:
        raise _error(source, where, "subject_kinds", "must be a non-empty list", "必须是非空列表")
    kinds: set[SubjectKind] = set()
    allowed = ", ".join(k.value for k in SubjectKind)
    for kind in raw:
        try:
            kinds.add(SubjectKind(kind))
        except ValueError:
            raise _error(
                source,
                where,
                "subject_kinds",
                f"unknown subject kind {kind!r} (allowed: {allowed})",
                f"未知的当事人类型 {kind!r}（可用：{allowed}）",
            ) from None
    return frozenset(kinds)


def _text(source: str, where: str, entry: dict[str, Any], key: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        if value is None or isinstance(value, str):
            raise _error(source, where, key, "missing or empty", "缺少或为空")
        raise _error(source, where, key, f"must be text, got {value!r}", f"必须是文字，实际为 {value!r}")
    return value.strip()


def _int(source: str, where: str, entry: dict[str, Any], key: str) -> int:
    value = entry.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _error(
            source,
            where,
            key,
            f"must be a whole number of yuan >= 0, got {value!r}",
            f"必须是不小于0的整数（元），实际为 {value!r}",
        )
    return value


def _list(source: str, where: str, entry: dict[str, Any], key: str) -> list[Any]:
    value = entry.get(key)
    if not isinstance(value, list):
        raise _error(source, where, key, "must be a list", "必须是列表")
    return value


def _no_unknown_fields(source: str, where: str, entry: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise _error(source, where, unknown[0], "unknown field (a typo?)", "未知字段（是否拼写错误？）")


def _error(source: str, where: str, field: str, en: str, zh: str) -> CatalogueError:
    place_en = ", ".join(
        p for p in (source, f"entry {where}" if where else "", f"field '{field}'" if field else "") if p
    )
    place_zh = "，".join(
        p for p in (source, f"条目 {where}" if where else "", f"字段“{field}”" if field else "") if p
    )
    return CatalogueError(f"{place_en}: {en}", zh=f"{place_zh}：{zh}", field=field or None)
