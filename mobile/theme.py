"""Look of the officer app: Material 3, the shipped CJK font, a high-contrast outdoor variant, and the
colours that carry meaning (stage chips, sync states).

Flutter web ignores system fonts, so the CJK font in ``assets/fonts`` is registered for the whole app
(``page.fonts`` + ``Theme(font_family=...)``); without it Chinese renders as empty boxes.
"""

from __future__ import annotations

from pathlib import Path

import flet as ft

from enforcement.model import Stage, SyncState
from patrollog.style import FALLBACK_FONTS, MAIN_FONT_FILE

FONT_FAMILY = "NotoSansSC"
#: Families Flutter tries, in order, for a character the main font lacks (rare name hanzi, emoji).
FONT_FALLBACK = [family for family, _ in FALLBACK_FONTS]
#: Fallbacks registered only once the first screen is on: the Han fallback is ~18 MB (every hanzi of CJK
#: Extensions B-F that the main font lacks), the Han Ext one ~2 MB (Extensions G and H), the Han Rare one
#: ~3.5 MB (the rest of G and H, Extensions I and J), the symbols one 0.3 MB (Symbola's tiles, cards,
#: dingbats and arrows that the emoji font lacks): only rare names need them. Flet's client does not
#: wait for ``page.fonts`` before the first screen, but fetches them all as the page opens: at start such
#: a file shares the link with the main font and delays it (bench/fonts_first_screen.py measures both
#: ways). Until it is loaded such a hanzi shows as a box; Flutter lays the text out again when it arrives.
LATE_FONTS: frozenset[str] = frozenset(
    {"StreetPatrolHan", "StreetPatrolHanExt", "StreetPatrolHanRare", "StreetPatrolSymbols"}
)
_TEXT_STYLES = (
    "body_large", "body_medium", "body_small", "display_large", "display_medium", "display_small",
    "headline_large", "headline_medium", "headline_small", "label_large", "label_medium", "label_small",
    "title_large", "title_medium", "title_small",
)  # fmt: skip
ASSETS_DIR = Path(__file__).resolve().parents[1] / "assets"
FONT_SUFFIXES = (".ttf", ".otf", ".woff2", ".woff")

#: Minimum height of anything tappable (Material's 48 dp, a bit more for gloves and one hand).
TOUCH = 52
SEED = "#0B5394"  # city-management blue

#: Stage chip colours: background, text. Persuasion green, warning amber, penalty red.
STAGE_COLOURS: dict[Stage, tuple[str, str]] = {
    Stage.PERSUASION: ("#1B7F3A", "#FFFFFF"),
    Stage.WARNING: ("#E8A100", "#1A1A1A"),
    Stage.PENALTY: ("#C62828", "#FFFFFF"),
}

SYNC_COLOURS: dict[SyncState, str] = {
    SyncState.LOCAL: "#6D6D6D",
    SyncState.SENT: "#1565C0",
    SyncState.COMPLETE: "#1B7F3A",
    SyncState.RETURNED: "#C62828",
}

SYNC_ICONS: dict[SyncState, ft.IconData] = {
    SyncState.LOCAL: ft.Icons.PHONE_ANDROID,
    SyncState.SENT: ft.Icons.CLOUD_UPLOAD,
    SyncState.COMPLETE: ft.Icons.CLOUD_DONE,
    SyncState.RETURNED: ft.Icons.ASSIGNMENT_RETURN,
}


def font_file(assets_dir: Path = ASSETS_DIR) -> str | None:
    """The CJK font's path relative to the assets dir (e.g. ``fonts/NotoSansSC-subset.otf``), if shipped."""
    fonts = assets_dir / "fonts"
    if not fonts.is_dir():
        return None
    if (fonts / MAIN_FONT_FILE).is_file():
        return f"fonts/{MAIN_FONT_FILE}"
    fallback_files = {file for _, file in FALLBACK_FONTS}
    for suffix in FONT_SUFFIXES:
        found = sorted(
            p for p in fonts.iterdir() if p.suffix.lower() == suffix and p.name not in fallback_files
        )
        if found:
            return f"fonts/{found[0].name}"
    return None


def app_fonts(assets_dir: Path = ASSETS_DIR, *, late: bool = True) -> dict[str, str]:
    """``page.fonts``: the main CJK font and the fallbacks shipped beside it (family → asset path);
    ``late=False`` leaves out ``LATE_FONTS`` (registered once the first screen is on)."""
    main = font_file(assets_dir)
    if main is None:
        return {}
    fonts = {FONT_FAMILY: main}
    for family, file in FALLBACK_FONTS:
        if (assets_dir / "fonts" / file).is_file() and (late or family not in LATE_FONTS):
            fonts[family] = f"fonts/{file}"
    return fonts


def text_theme() -> ft.TextTheme:
    """Every Material text style in the main font with the fallbacks after it (``ft.Theme`` has no
    fallback of its own, a ``TextStyle`` has)."""
    style = ft.TextStyle(font_family=FONT_FAMILY, font_family_fallback=FONT_FALLBACK)
    return ft.TextTheme(**{name: style for name in _TEXT_STYLES})


def make_theme(*, high_contrast: bool = False, dark: bool = False) -> ft.Theme:
    """The app theme. High contrast: pure black on white (or white on black), strong outlines, bigger
    text — readable in sunlight."""
    if not high_contrast:
        return ft.Theme(
            color_scheme_seed=SEED,
            font_family=FONT_FAMILY,
            text_theme=text_theme(),
            visual_density=ft.VisualDensity.COMFORTABLE,
        )
    fg, bg = ("#FFFFFF", "#000000") if dark else ("#000000", "#FFFFFF")
    return ft.Theme(
        font_family=FONT_FAMILY,
        text_theme=text_theme(),
        visual_density=ft.VisualDensity.COMFORTABLE,
        color_scheme=ft.ColorScheme(
            primary="#003A8C" if not dark else "#9CC3FF",
            on_primary=bg if dark else "#FFFFFF",
            secondary="#000000" if not dark else "#FFFFFF",
            surface=bg,
            on_surface=fg,
            on_surface_variant=fg,
            outline=fg,
            error="#B00020",
        ),
        scaffold_bgcolor=bg,
        divider_color=fg,
    )


def icon(name: str) -> ft.IconData:
    """The ``ft.Icons`` member named by a catalogue entry (a generic icon for an unknown name)."""
    member = getattr(ft.Icons, name, None)
    return member if isinstance(member, ft.IconData) else ft.Icons.REPORT


def stage_chip(label: str, stage: Stage, *, large: bool = False, key: str | None = None) -> ft.Container:
    """A coloured stage label (劝导 / 警告 / 处罚)."""
    bg, fg = STAGE_COLOURS[stage]
    return ft.Container(
        content=ft.Text(label, color=fg, size=22 if large else 14, weight=ft.FontWeight.BOLD),
        bgcolor=bg,
        border_radius=8,
        padding=ft.Padding.symmetric(horizontal=14 if large else 10, vertical=8 if large else 4),
        key=key,
    )
