"""How a report names a subject, a plate and a place (the day log, HQ's exports, the squad feed). Pure.

- ``written_plate``: a plate in its written form, ``豫A·D12345`` (as stored when it does not parse);
  ``subject_plate``: a subject's plate as the officer wrote it, else ``written_plate``.
- ``subject_label``: the subject's name, else its plate (written), else its kind and description
  (``流动摊贩：推三轮车卖烤红薯``: a subject registered by description only), else its address.
- ``coordinates_text``: a GPS fix as ``34.74660, 113.62530`` (5 decimals: about a metre).
- ``place_text``: the typed address, else the coordinates, else the reason there is none; with the street
  and grid where known (``人民路夜市（人民路 · 网格 JS-0412）``).
"""

from __future__ import annotations

from collections.abc import Mapping

from enforcement.identifiers import format_plate
from enforcement.model import EnforcementError, Location, Subject, SubjectKind
from enforcement.zones import EXTRA_STREET

#: The subject kinds as a report names them.
KIND_ZH: Mapping[SubjectKind, str] = {
    SubjectKind.MOBILE_VENDOR: "流动摊贩",
    SubjectKind.SHOP: "店铺",
    SubjectKind.VEHICLE: "车辆",
    SubjectKind.CONSTRUCTION_SITE: "工地",
    SubjectKind.UNKNOWN: "不明当事人",
}


def written_plate(plate: str) -> str:
    """``豫AD12345`` → ``豫A·D12345``; "" stays ""; a plate that does not parse is shown as stored."""
    if not plate.strip():
        return ""
    try:
        return format_plate(plate)
    except (EnforcementError, IndexError):
        return plate.strip()


def subject_plate(subject: Subject) -> str:
    """The subject's plate as shown: as the officer wrote it (``plate_written``), else ``written_plate``."""
    return subject.plate_written.strip() or written_plate(subject.plate)


def subject_label(subject: Subject) -> str:
    """The subject as the day log names it (see the module docstring)."""
    if subject.name.strip():
        return subject.name.strip()
    if subject.plate.strip():
        return subject_plate(subject)
    if subject.description.strip():
        kind = KIND_ZH.get(SubjectKind(subject.kind), "")
        return f"{kind}：{subject.description.strip()}" if kind else subject.description.strip()
    return subject.address.strip()


def coordinates_text(location: Location) -> str:
    """``34.74660, 113.62530``; "" without a fix."""
    if location.lat is None or location.lon is None:
        return ""
    return f"{location.lat:.5f}, {location.lon:.5f}"


def place_text(location: Location, extra: Mapping[str, str] | None = None) -> str:
    """Where it happened, for a report: address, else coordinates, else the no-fix reason; then the
    street (``Case.extra``) and grid cell where known, in brackets."""
    base = location.address.strip() or coordinates_text(location) or location.no_fix_reason.strip()
    street = (extra or {}).get(EXTRA_STREET, "").strip()
    where = [bit for bit in (street, f"网格 {location.grid_cell}" if location.grid_cell else "") if bit]
    if street and street in base:
        where.remove(street)
    if not where:
        return base
    return f"{base}（{' · '.join(where)}）" if base else " · ".join(where)
