"""The day log as a PDF (fpdf2, pure Python, so the phone can make it offline too).

Chinese text is set in the shipped font (``assets/fonts/NotoSansSC-StreetPatrol.otf``, a CFF-outline
OpenType subset of Noto Sans CJK SC), embedded as a subset with a ToUnicode map, so text extracts from
the PDF (``pdftotext``) as written. A character the main font lacks is set in the first fallback font that
has it (``patrollog.style.FALLBACK_FONTS``: rare name hanzi, monochrome emoji); one that no shipped font has
is never dropped silently: it prints as ``MISSING_MARK`` and is logged (``render_daylog`` returns them) —
Arabic script (Uyghur names) and Hebrew among them: no shipped font has them, and fpdf2 lays out neither
right to left nor joined without HarfBuzz, which the phone lacks. Invisible characters (default-ignorable:
a zero-width space or BOM pasted into a name, bidi controls, variation selectors) are left out where no
font has them, and text typed with combining accents is composed first (``_visible``).
A table cell holds at most ``MAX_CELL_LINES`` lines, the last ending in "…" (the CSV has the full text).
Pages are A4 landscape: the head (date, squad, summary line, stages),
the officers on shift, cases by type, seized items, fines and returned cases, then one row per case.

Made at HQ, the PDF also prints the audit head it was made at (``audit_head``: sequence number and the
first 16 hex digits of the hash), so each printed log anchors HQ's audit chain outside the database
(``streetpatrol-hq verify --expect SEQ:HASH``); the phone has no HQ audit head and passes none.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import cast

from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.fonts import FontFace, TTFFont

from enforcement.model import Stage
from enforcement.staging import stage_name
from enforcement.text import ignorable
from patrollog.csvlog import hhmm
from patrollog.daylog import DISPOSITION_ZH, CaseLine, DayLog
from patrollog.style import FALLBACK_FONTS, MAIN_FONT_FILE
from patrollog.workorderlog import orders_line
from patrollog.zonecount import zones_paragraph

#: The font shipped with the app (the phone passes the path of its bundled copy).
DEFAULT_FONT = Path(__file__).resolve().parents[1] / "assets" / "fonts" / MAIN_FONT_FILE
FONT_FAMILY = "NotoSansSC"
#: Printed for a character no shipped font has (the geta mark, Chinese typesetting's "missing glyph").
MISSING_MARK = "〓"
#: Lines of a table cell at most; longer text ends in an ellipsis.
MAX_CELL_LINES = 3
ELLIPSIS = "…"

_log = logging.getLogger(__name__)

_HEAD = FontFace(fill_color=(230, 236, 245))
_CASE_COLUMNS: Sequence[tuple[str, int]] = (
    ("案件编号", 48),
    ("版本", 9),
    ("时间", 11),
    ("队员", 21),
    ("违法类型", 33),
    ("阶段", 21),
    ("当事人", 24),
    ("地点", 26),
    ("处置 / 罚款", 22),
    ("暂扣物品", 24),
    ("审核", 38),
)


class _LogPdf(FPDF):
    def __init__(self, title: str) -> None:
        super().__init__(orientation="L", unit="mm", format="A4")
        self.log_title = title
        self.covered: set[int] = set()  # code points some shipped font has (registered or pending)
        self.missing: dict[str, None] = {}  # characters printed as MISSING_MARK, in order
        self.in_use: set[int] = set()  # code points the registered fonts have
        self.pending: list[_Fallback] = []  # fallbacks not registered yet (no text needed them so far)
        self.fallbacks: list[str] = []  # the registered fallbacks' families, in FALLBACK_FONTS order

    def normalize_text(self, text: str) -> str:
        """Every text passes here: a character no shipped font has becomes ``MISSING_MARK``, and a fallback
        font is registered the first time a text needs it."""
        text = _visible(text, self.covered, self.missing)
        if self.pending and not self.in_use.issuperset(map(ord, text)):
            self._register_needed(text)
        return super().normalize_text(text)

    def _register_needed(self, text: str) -> None:
        """Register each pending fallback that has a character of ``text`` the registered fonts lack (the
        Han fallback is ~18 MB of outlines: fpdf2 parses a font at ``add_font``, so a log whose names
        need only the main font never pays for it)."""
        for cp in set(map(ord, text)) - self.in_use:
            if cp in self.in_use:  # a fallback registered for an earlier character has it
                continue
            for fallback in [f for f in self.pending if cp in f.cmap]:
                self.add_font(fallback.family, "", str(fallback.path))
                self.in_use |= fallback.cmap
                self.pending.remove(fallback)
                self.fallbacks.append(fallback.family)
                order = [family for family, _ in FALLBACK_FONTS]
                self.set_fallback_fonts(sorted(self.fallbacks, key=order.index))
                break

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font(FONT_FAMILY, size=8)
        self.cell(0, 5, f"{self.log_title}　第 {self.page_no()} 页 / 共 {{nb}} 页", align="C")


#: Hex digits of the audit head's hash printed (``hq.audit.MIN_PREFIX``: what ``verify --expect`` takes).
AUDIT_HASH_DIGITS = 16


def audit_head_line(audit_head: tuple[int, str]) -> str:
    """The PDF's audit-head line; ``SEQ:HASHPREFIX`` in it is what ``verify --expect`` reads."""
    seq, digest = audit_head
    return f"审计链头 Audit head：{seq}:{digest[:AUDIT_HASH_DIGITS]}"


@dataclass(frozen=True)
class RenderedLog:
    """A day log's PDF and the characters no shipped font has (printed as ``MISSING_MARK``)."""

    data: bytes
    missing: tuple[str, ...]


def daylog_pdf(
    log: DayLog, *, font_path: Path | str = DEFAULT_FONT, audit_head: tuple[int, str] | None = None
) -> bytes:
    """The PDF bytes of a day log; ``audit_head`` (seq, hash): HQ's audit head when it was made."""
    return render_daylog(log, font_path=font_path, audit_head=audit_head).data


def render_daylog(
    log: DayLog, *, font_path: Path | str = DEFAULT_FONT, audit_head: tuple[int, str] | None = None
) -> RenderedLog:
    """``daylog_pdf`` with the characters it could not set (each logged as a warning too)."""
    squad = f"{log.squad_name}（{log.squad_code}）" if log.squad_name else log.squad_code
    title = f"{squad} 中队巡查日志 {log.day.isoformat()}"
    pdf = _LogPdf(title)
    pdf.set_title(title)
    pdf.set_creator("StreetPatrol 街巡")
    pdf.set_lang("zh-CN")
    _register_fonts(pdf, Path(font_path))
    pdf.set_margins(10, 10, 10)
    pdf.set_auto_page_break(auto=True, margin=14)
    pdf.add_page()

    pdf.set_font(FONT_FAMILY, size=16)
    pdf.cell(0, 9, "中队巡查日志", new_x="LMARGIN", new_y="NEXT", align="C")
    pdf.set_font(FONT_FAMILY, size=10)
    pdf.cell(0, 6, f"日期：{log.day.isoformat()}　　中队：{squad}", new_x="LMARGIN", new_y="NEXT", align="C")
    pdf.ln(2)
    f = log.figures
    _paragraph(pdf, f"汇总：{log.summary_line}")
    _paragraph(pdf, f"处置阶段：{f.stage_line('zh')}")
    _paragraph(
        pdf,
        f"案件 {f.cases} 起；罚款 {f.fined_cases} 起共 {f.fines_total} 元；退回案件 {f.returned} 起"
        + (f"（{'、'.join(log.returned_case_nos)}）" if log.returned_case_nos else "")
        + f"；作废 {f.voided} 起；撤销 {f.withdrawn} 起",
    )
    if log.work_orders.received:
        _paragraph(pdf, orders_line(log.work_orders))
    zones_text = zones_paragraph(log.zones)
    if zones_text:
        _paragraph(pdf, zones_text)
    if audit_head is not None:
        _paragraph(pdf, audit_head_line(audit_head))

    _heading(pdf, "执勤队员")
    officers = [
        [
            o.badge,
            o.name,
            hhmm(o.first_start) or "—",
            hhmm(o.last_end) or ("在岗" if o.shifts else "—"),
            "；".join(f"{hhmm(s.started_at)}-{hhmm(s.ended_at) or '…'}" for s in o.shifts) or "无值班记录",
            str(o.figures.cases),
        ]
        for o in log.officers
    ]
    _table(pdf, ["警号", "姓名", "上岗", "下岗", "班次", "案件数"], officers, (24, 36, 20, 20, 90, 20))

    _heading(pdf, "按违法类型")
    by_type = [[log.violation_names.get(code, code), code, str(n)] for code, n in f.by_violation.items()]
    _table(pdf, ["违法类型", "代码", "起数"], [*by_type, ["合计", "", str(f.cases)]], (70, 20, 20))

    _heading(pdf, "按处置阶段")
    _table(pdf, ["阶段", "起数"], [[stage_name(s, "zh"), str(f.by_stage.get(s, 0))] for s in Stage], (40, 20))

    _heading(pdf, "暂扣物品")
    seized = [[kind, str(n)] for kind, n in f.seized.items()] or [["无", "0"]]
    _table(pdf, ["物品", "数量"], seized, (40, 20))

    _heading(pdf, "案件明细")
    _table(
        pdf,
        [name for name, _ in _CASE_COLUMNS],
        [_case_row(line) for line in log.lines] or [["无案件", *[""] * (len(_CASE_COLUMNS) - 1)]],
        tuple(width for _, width in _CASE_COLUMNS),
        size=8,
    )
    data = bytes(pdf.output())
    if pdf.missing:
        _log.warning(
            "day log %s %s: no shipped font has %s; printed as %s",
            log.squad_code, log.day, " ".join(f"U+{ord(c):04X}" for c in pdf.missing), MISSING_MARK,
        )  # fmt: skip
    return RenderedLog(data, tuple(pdf.missing))


@dataclass(frozen=True)
class _Fallback:
    family: str
    path: Path
    cmap: frozenset[int]


@lru_cache(maxsize=16)
def _file_cmap(path: Path, mtime_ns: int, size: int) -> frozenset[int]:
    """The code points of the font file at ``path`` (read once per file version: the cmap alone, not the
    outlines)."""
    with TTFont(str(path), lazy=True) as font:
        return frozenset(font.getBestCmap() or {})


def _register_fonts(pdf: _LogPdf, font_path: Path) -> None:
    """The main font, then the fallbacks found beside it (or in the repository's assets), each registered
    when a text first needs it; records the code points they cover for ``_visible``."""
    pdf.add_font(FONT_FAMILY, "", str(font_path))
    pdf.covered = _cmap(pdf, FONT_FAMILY)
    pdf.in_use = set(pdf.covered)
    for family, file in FALLBACK_FONTS:
        candidates = (font_path.with_name(file), DEFAULT_FONT.with_name(file))
        path = next((p for p in candidates if p.is_file()), None)
        if path is None:
            _log.warning("fallback font %s is missing; its characters print as %s", file, MISSING_MARK)
            continue
        stat = path.stat()
        cmap = _file_cmap(path, stat.st_mtime_ns, stat.st_size)
        pdf.pending.append(_Fallback(family, path, cmap))
        pdf.covered |= cmap


def _cmap(pdf: FPDF, family: str) -> set[int]:
    font = pdf.fonts[family.lower()]
    return set(font.cmap) if isinstance(font, TTFFont) else set()


#: CJK compatibility ideographs: NFC maps each to its unified twin, which is another character of a name.
_COMPATIBILITY = re.compile("([\uf900-\ufaff\U0002f800-\U0002fa1f]+)")


def _composed(text: str) -> str:
    """``text`` in NFC (a letter typed with combining accents becomes the accented letter the fonts
    have), except its CJK compatibility ideographs, which stay as typed."""
    parts = _COMPATIBILITY.split(text)
    return "".join(part if i % 2 else unicodedata.normalize("NFC", part) for i, part in enumerate(parts))


def _visible(text: str, covered: set[int], missing: dict[str, None]) -> str:
    """``text`` as the PDF prints it: composed (``_composed``) when a font lacks one of its characters;
    then each default-ignorable character no font has left out (it is drawn as nothing), and each other
    character no font covers replaced by ``MISSING_MARK`` (and noted in ``missing``); line breaks and
    tabs pass."""
    if not covered or all(ord(ch) in covered for ch in text):
        return text
    out = []
    for ch in _composed(text):
        if ord(ch) in covered or ch in "\n\r\t":
            out.append(ch)
        elif not ignorable(ch):
            missing.setdefault(ch)
            out.append(MISSING_MARK)
    return "".join(out)


def _capped(pdf: FPDF, text: str, width: float, max_lines: int = MAX_CELL_LINES) -> str:
    """``text`` as it fits ``max_lines`` lines of a ``width`` mm cell (cell margins included): whole if it
    fits, else the first lines with the last cut to end in an ellipsis."""
    lines = cast("list[str]", pdf.multi_cell(width, 1, text, dry_run=True, output="LINES"))
    if len(lines) <= max_lines:
        return text
    last = lines[max_lines - 1]
    while last and pdf.get_string_width(last + ELLIPSIS) > width - 2 * pdf.c_margin:
        last = last[:-1]
    return "\n".join([*lines[: max_lines - 1], last + ELLIPSIS])


def _case_row(line: CaseLine) -> list[str]:
    stage = stage_name(line.stage, "zh")
    if line.hq_stage is not None and line.hq_stage != line.stage:
        stage += f"→{stage_name(line.hq_stage, 'zh')}"  # HQ's stage differs
    action = DISPOSITION_ZH[line.disposition]
    if line.fine_yuan:
        action += f" {line.fine_yuan} 元"
    if line.documents_text:
        action += f"；{line.documents_text}"  # notice and receipt numbers, the second officer
    review = line.review.label("zh") + (f"：{line.review_comment}" if line.review_comment else "")
    subject = line.subject or "不明"
    if line.plate and line.plate not in subject:
        subject += f" {line.plate}"
    return [
        line.case_no,
        str(line.version),
        hhmm(line.occurred_at),
        f"{line.officer_name} {line.officer_badge}".strip(),
        line.violation_name,
        stage,
        subject,
        line.place,
        action,
        line.seized_text,
        review,
    ]


def _paragraph(pdf: FPDF, text: str) -> None:
    pdf.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")


def _heading(pdf: FPDF, text: str) -> None:
    pdf.ln(3)
    pdf.set_font(FONT_FAMILY, size=12)
    pdf.cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(FONT_FAMILY, size=10)


def _table(
    pdf: FPDF, header: list[str], rows: list[list[str]], widths: tuple[int, ...], *, size: int = 10
) -> None:
    pdf.set_font(FONT_FAMILY, size=size)
    with pdf.table(
        col_widths=widths,
        width=sum(widths),
        align="LEFT",
        headings_style=_HEAD,
        line_height=size * 0.5,
    ) as table:
        for values in [header, *rows]:
            row = table.row()
            for value, width in zip(values, widths, strict=False):
                row.cell(_capped(pdf, value, width))
    pdf.set_font(FONT_FAMILY, size=10)
