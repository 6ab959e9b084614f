"""Names as people write them on the phone: a long name with Extension B hanzi and emoji keeps its full
text but takes at most two lines (then an ellipsis) in the 今日 tiles and the subject list; the shipped
fonts (main + fallbacks) are registered and cover it."""

from __future__ import annotations

import asyncio

import flet as ft
from fontTools.ttLib import TTFont

from enforcement.limits import limit_of
from mobile.state.app_state import AppState
from mobile.theme import ASSETS_DIR, FONT_FALLBACK, FONT_FAMILY, LATE_FONTS, app_fonts, make_theme
from mobile.views.subjects import SubjectsView
from tests.mobile.statekit import photo
from tests.mobile.viewkit import event, open_screen, started, tree

NAME = ("𠮷野家🔥🍢烧烤" + "人民路夜市第三排左手边卖烤串的摊位" * 4)[: limit_of("name")]


def saved_case_of(app: AppState, name: str) -> None:
    drafts = app.drafts
    drafts.start()
    drafts.choose_violation("0510")
    drafts.update(address="人民路 12 号")
    drafts.create_subject("mobile_vendor", name=name)
    asyncio.run(drafts.add_photo(photo(3)))
    drafts.save()


def texts_with(control: object, needle: str) -> list[ft.Text]:
    return [c for c in tree(control) if isinstance(c, ft.Text) and needle in str(c.value or "")]


def assert_clipped(found: list[ft.Text], lines: int) -> None:
    assert found
    for text in found:
        assert NAME in str(text.value)  # the full text, clipped by the layout only
        assert text.max_lines is not None
        assert text.max_lines <= lines
        assert text.overflow == ft.TextOverflow.ELLIPSIS


def test_long_rare_name_on_the_today_tile_and_subject_list(app: AppState) -> None:
    assert len(NAME) == limit_of("name")
    saved_case_of(app, NAME)
    shell = started(app)
    shell.go("today")
    assert_clipped(texts_with(shell.body, NAME), 2)
    shell, screen = open_screen(app, SubjectsView, "subjects")
    screen.on_search(event("𠮷野家"))
    assert_clipped(texts_with(screen.results, NAME), 2)


def test_fonts_registered_with_fallbacks_that_cover_the_name() -> None:
    fonts = app_fonts()
    assert list(fonts) == [FONT_FAMILY, *FONT_FALLBACK]
    cmaps = []
    for path in fonts.values():
        with TTFont(str(ASSETS_DIR / path), lazy=True) as font:
            cmaps.append(set(font.getBestCmap()))
    for ch in NAME + "㐂䶮𡈼𪚥":
        assert any(ord(ch) in cmap for cmap in cmaps), f"U+{ord(ch):04X}"
    for high_contrast in (False, True):
        theme = make_theme(high_contrast=high_contrast)
        assert theme.font_family == FONT_FAMILY
        assert theme.text_theme is not None
        assert theme.text_theme.body_medium is not None
        assert theme.text_theme.body_medium.font_family_fallback == FONT_FALLBACK


def test_the_big_han_fallback_is_registered_after_the_first_screen() -> None:
    """``page.fonts`` at start leaves out ``LATE_FONTS`` (the ~18 MB Han fallback); the full set follows,
    in the same order (Flutter tries the fallbacks in the order of the text style's list, not this one)."""
    early, full = app_fonts(late=False), app_fonts()
    # the Han Ext and Han Rare fallbacks too: only rare names need them
    assert {"StreetPatrolHan", "StreetPatrolHanExt", "StreetPatrolHanRare"} <= LATE_FONTS
    assert "StreetPatrolHanRare" in full
    assert "StreetPatrolHanRare" not in early
    assert list(early) == [FONT_FAMILY, *(f for f in FONT_FALLBACK if f not in LATE_FONTS)]
    assert list(full) == [FONT_FAMILY, *FONT_FALLBACK]
    assert (ASSETS_DIR / full["StreetPatrolHan"]).stat().st_size > 10_000_000
    assert all((ASSETS_DIR / path).stat().st_size < 10_000_000 for path in early.values())
