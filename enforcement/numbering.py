"""Case numbers made offline: ``<squad>-<badge>-<YYMMDD>-<install tag>-<seq>``, e.g.
``ZD01-1023-261122-K7Q2M-0042``.

- squad code (e.g. ZD01) and badge tell a reader whose case it is;
- YYMMDD is the bureau-local date the number was reserved;
- the install tag is 5 Crockford base32 characters drawn with ``secrets`` once per app install
  (``make_install_tag``) and kept in the phone store;
- seq is a per-install counter (at least 4 digits, grows past 9999), never reset — not per day.

Why it never repeats without asking the server:

1. Within one install the sequence is strictly increasing and the store commits each reservation before
   the number is used (photos are watermarked with it). The date is only decoration for uniqueness: a
   clock set back, a time-zone change or two officers on one phone cannot make the same (tag, seq) twice.
2. Different installs (a reinstall, a new phone, a wiped app) draw a fresh random tag from
   32^5 = 33,554,432 values. Two case numbers can then only coincide if two installs drew the same tag
   *and* used the same squad, badge, date and seq. Per officer, with k installs over a career the chance
   that any two share a tag is about k(k-1)/2 / 32^5 — for k = 10, 45 / 33,554,432 ≈ 1.3 × 10⁻⁶ — and
   even then the date and seq must also match. Across the whole city (say 20,000 installs) tags alone
   would collide with odds ≈ 1 − e^(−20000²/(2·32^5)) ≈ 99.7 %, which is why the number also carries
   squad and badge, and why the tag is never used alone as an identity.
3. HQ enforces uniqueness of case numbers anyway (a clash is refused, never merged), and records are
   identified on the wire by their UUID, not by this number.

Crockford base32 (0-9 A-Z without I L O U) avoids letters that read as digits when copied by hand.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date

from enforcement.model import IdentifierError

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
TAG_LENGTH = 5
SEQ_WIDTH = 4

_SQUAD = re.compile(r"[A-Z0-9]{1,12}")
_BADGE = re.compile(r"[A-Z0-9]{1,16}")
_TAG = re.compile(rf"[{CROCKFORD}]{{{TAG_LENGTH}}}")
_CASE_NO = re.compile(
    rf"(?P<squad>[A-Z0-9]{{1,12}})-(?P<badge>[A-Z0-9]{{1,16}})-(?P<day>[0-9]{{6}})"
    rf"-(?P<tag>[{CROCKFORD}]{{{TAG_LENGTH}}})-(?P<seq>[0-9]{{{SEQ_WIDTH},}})"
)


@dataclass(frozen=True, slots=True)
class CaseNumber:
    squad_code: str
    badge: str
    day: date
    install_tag: str
    seq: int

    def __str__(self) -> str:
        return format_case_no(self.squad_code, self.badge, self.day, self.install_tag, self.seq)


def make_install_tag() -> str:
    """A fresh random install tag (5 Crockford base32 characters), made once per install."""
    return "".join(secrets.choice(CROCKFORD) for _ in range(TAG_LENGTH))


def _bad(field: str, en: str, zh: str) -> IdentifierError:
    return IdentifierError(en, zh=zh, field=field)


def format_case_no(squad_code: str, badge: str, day: date, install_tag: str, seq: int) -> str:
    """The case number; ``IdentifierError`` if a part cannot appear in one."""
    if not _SQUAD.fullmatch(squad_code):
        raise _bad(
            "squad_code",
            f"squad code {squad_code!r} must be 1-12 capital letters or digits",
            f"中队代码“{squad_code}”应为1～12位大写字母或数字",
        )
    if not _BADGE.fullmatch(badge):
        raise _bad(
            "officer_badge",
            f"badge {badge!r} must be 1-16 capital letters or digits",
            f"执法证号“{badge}”应为1～16位大写字母或数字",
        )
    if not _TAG.fullmatch(install_tag):
        raise _bad(
            "install_tag",
            f"install tag {install_tag!r} must be {TAG_LENGTH} Crockford base32 characters",
            f"安装标识“{install_tag}”应为{TAG_LENGTH}位字符（不含 I L O U）",
        )
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        raise _bad("case_no", f"sequence {seq!r} must be a whole number >= 1", f"流水号 {seq!r} 应为正整数")
    if not 2000 <= day.year <= 2099:
        raise _bad("case_no", f"year {day.year} cannot be written as YY", f"年份 {day.year} 超出范围")
    return f"{squad_code}-{badge}-{day:%y%m%d}-{install_tag}-{seq:0{SEQ_WIDTH}d}"


def parse_case_no(text: str) -> CaseNumber:
    """The parts of a case number; ``IdentifierError`` (field ``case_no``) if ``text`` is not one."""
    match = _CASE_NO.fullmatch(text.strip())
    if match is None:
        raise _bad(
            "case_no",
            f"{text!r} is not a case number (e.g. ZD01-1023-261122-K7Q2M-0042)",
            f"“{text}”不是有效的案件编号（如 ZD01-1023-261122-K7Q2M-0042）",
        )
    digits = match["day"]
    try:
        day = date(2000 + int(digits[:2]), int(digits[2:4]), int(digits[4:]))
    except ValueError:
        raise _bad(
            "case_no", f"case number {text!r} has an invalid date", f"案件编号“{text}”中的日期无效"
        ) from None
    seq_text = match["seq"]
    seq = int(seq_text)
    if seq < 1 or (len(seq_text) > SEQ_WIDTH and seq_text.startswith("0")):
        raise _bad(
            "case_no", f"case number {text!r} has an invalid sequence", f"案件编号“{text}”中的流水号无效"
        )
    return CaseNumber(match["squad"], match["badge"], day, match["tag"], seq)
