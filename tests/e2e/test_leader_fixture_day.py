"""The squad leader's screens over the hand-worked fixture day (tests/patrollog/dayfixture.py: squad ZD01 on
2026-11-22) in Chromium, and README's three leader screenshots taken from them.

The leader's phone is prepared before its app server starts: its store (``phone.db`` in the data directory,
as mobile/app.py names it) holds the fixture day as the squad feed delivers it, with HQ's reasons for its
stages (case C: HQ says 处罚 where the phone said 警告, a stage conflict), and leader 1001 signed in (as after
an earlier online sign-in). HQ is a dead loopback address: the leader works offline. The app's clock is real
time, so the leader picks the fixture's day in 中队; 审核 follows the day chosen there.

Screenshots: artifacts/screenshots/leader-squad.png, leader-squad-chart-plan.png (scrolled to the chart and
the plan) and leader-review.png (a return reason typed in one case, not confirmed); README shows the copies
in docs/screenshots/.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
from PIL import Image

from enforcement.catalogue import load_catalogue
from mobile.metakeys import SESSION_BADGE as SESSION_KEY
from mobile.store import Store
from patrollog.style import STAGE_COLOURS
from testkit.browser import Browser, Screen
from testkit.harness import AppServer
from testkit.hqkit import LEADER
from tests.e2e.leaderui import LeaderUi, screenshot_unhovered
from tests.mobile.squadkit import fill
from tests.mobile.statekit import dead_url
from tests.patrollog.dayfixture import Day, fixture_day

pytestmark = pytest.mark.browser

DAY = "2026-11-22"
LEADER_SHOWN = "张伟（1001）"
#: HQ's reasons for its stages of the fixture day: C (露天烧烤 of 赵老三烧烤, the phone counted 2 earlier
#: cases, HQ 3: a conflict) and F (渣土遗撒 of 豫A12345, 处罚 on both sides).
REASON_C = ("第3次 · 处罚：10-02 劝导，11-01 警告", "3rd · Penalty: 10-02 Persuasion, 11-01 Warning")
REASON_F = ("第3次 · 处罚：09-14 劝导，10-20 警告", "3rd · Penalty: 09-14 Persuasion, 10-20 Warning")
RETURN_REASON = "请补充当事人照片"


@pytest.fixture(scope="module")
def day() -> Day:
    return fixture_day()


def prepare_phone(data_dir: Path, day: Day) -> None:
    """The leader's phone before the app starts: the fixture day in ``phone.db``, the leader signed in."""
    data_dir.mkdir(parents=True, exist_ok=True)
    store = Store.open(data_dir / "phone.db", catalogue=load_catalogue())
    try:
        fill(store, day, hq_reasons={day.c.id: REASON_C, day.f.id: REASON_F})
        store.save_officer(LEADER)
        store.meta_set(SESSION_KEY, LEADER.badge)
    finally:
        store.close()


@pytest.fixture(scope="module")
def leader_phone(e2e_root: Path, day: Day) -> Iterator[AppServer]:
    data_dir = e2e_root / "leader-phone"
    prepare_phone(data_dir, day)
    with AppServer(data_dir, dead_url(), e2e_root / "leader-phone.log") as server:
        yield server


@pytest.fixture(scope="module")
def screen(browser: Browser, leader_phone: AppServer) -> Iterator[Screen]:
    """Named as conftest's: a failing test leaves its FAILED-<test>.png."""
    with browser.new_screen(leader_phone.url) as page:
        yield page


@pytest.fixture(scope="module")
def ui(screen: Screen) -> LeaderUi:
    return LeaderUi(screen)


def box_of(s: Screen, text: str, *, below: float | None = None) -> dict[str, float]:
    """Where the semantics node showing exactly ``text`` is on the screen (CSS pixels); with ``below``, the
    first such node whose top is lower than that."""

    def go() -> dict[str, float]:
        nodes = s.page.get_by_text(text, exact=True)
        nodes.first.wait_for(state="attached", timeout=15_000)
        for node in nodes.all():
            box: dict[str, float] | None = node.bounding_box()
            if box is not None and (below is None or box["y"] > below):
                return box
        raise AssertionError(f"no {text!r} on the screen" + (f" below {below}" if below is not None else ""))

    return s._run(go)


def scroll_to_top(s: Screen, text: str, top: float = 14.0) -> None:
    """Scroll the screen's content (mouse wheel over its middle) until ``text`` stands ``top`` px from the
    top of the page."""
    for _ in range(6):
        offset = box_of(s, text)["y"] - top
        if abs(offset) < 2:
            return
        s._run(lambda by=offset: (s.page.mouse.move(206, 450), s.page.mouse.wheel(0, by)))
        s.settle()
    raise AssertionError(f"could not scroll {text!r} to the top: it stays at {box_of(s, text)}")


def colour_counts(s: Screen, box: dict[str, float]) -> Counter[tuple[int, int, int]]:
    """How many pixels of each colour the screen has inside ``box``."""

    def go() -> bytes:
        clip = {k: box[k] for k in ("x", "y", "width", "height")}
        png: bytes = s.page.screenshot(clip=clip)
        return png

    image = Image.open(io.BytesIO(s._run(go))).convert("RGB")
    colours = image.getcolors(maxcolors=image.width * image.height) or []
    return Counter({cast(tuple[int, int, int], rgb): n for n, rgb in colours})


def dominant_colour(s: Screen, box: dict[str, float]) -> tuple[int, int, int]:
    """The most common pixel colour of the screen inside ``box``."""
    return colour_counts(s, box).most_common(1)[0][0]


def near(pixels: Counter[tuple[int, int, int]], hex_colour: str, tolerance: int = 12) -> int:
    """How many of ``pixels`` are within ``tolerance`` of ``hex_colour`` in every channel."""
    want = tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    close = (rgb for rgb in pixels if all(abs(a - b) <= tolerance for a, b in zip(rgb, want, strict=True)))
    return sum(pixels[rgb] for rgb in close)


def lines(s: Screen) -> list[str]:
    return s.semantics_text().splitlines()


def in_order(shown: list[str], wanted: list[str]) -> bool:
    """Whether every line of ``wanted`` is shown, in that order (other lines may come between)."""
    rest = iter(shown)
    return all(any(line == want for line in rest) for want in wanted)


# ------------------------------------------------------------------------------------------ the screens


def test_squad_screen_shows_the_fixture_day(ui: LeaderUi) -> None:
    s = ui.s
    s.wait_text(LEADER_SHOWN)  # signed in from the store: Today of the leader, with the leader's tabs
    s.wait_control("tab", "审核")
    assert "执法证号" not in s.semantics_text()
    ui.squad()
    s.fill("日期（年-月-日）", DAY)
    s.tap("查看")
    s.wait_text(f"中队 · {DAY}")
    s.settle()
    shown = lines(s)
    text = "\n".join(shown)
    top = [
        f"中队 · {DAY}",
        "人民路中队",
        "查处占道经营 3 起，取缔露天烧烤 2 起，暂扣烧烤炉 3 个、桌椅 1 套，查处渣土遗撒 1 起，"
        "罚款 1 起共 500 元",
        "劝导 3 起，警告 2 起，处罚 1 起",
        "案件 6 起 · 退回 1 起 · 作废 1 起",
        "审核队列（4）",
        "执勤队员",
        "王㐂（1023）",
        "上岗 18:00 · 下岗 23:30",
        "案件 4 起 · 劝导 2 起，警告 1 起，处罚 1 起",
        "李娜（1024）",
        "上岗 17:30 · 下岗 22:00",
        "案件 2 起 · 劝导 1 起，警告 1 起，处罚 0 起",
        "赵敏（1026）",
        "上岗 08:00 · 下岗 12:00",
        "案件 0 起 · 劝导 0 起，警告 0 起，处罚 0 起",
    ]
    assert in_order(shown, top), text
    officers = ["全部队员", "王㐂（1023）", "李娜（1024）", "赵敏（1026）"]
    filters = ["筛选", "队员", *officers, "违法类型", "全部类型", "处理阶段", "全部", "劝导", "警告", "处罚"]
    assert in_order(shown, filters), text
    # the chart's axis (most cases of a type: 2) and its bars' names, most cases first
    chart = ["按违法类型", "3", "2", "1", "0", "店外经营", "露天烧烤", "道路遗撒（渣土运输）", "无照经营游商"]
    assert in_order(shown, [*chart, "案件位置示意图", "劝导", "警告", "处罚", "案件明细（7 起）"]), text
    screenshot_unhovered(s, "leader-squad")

    scroll_to_top(s, "按违法类型")
    # the plan is a canvas (nothing in the semantics tree): its dots in the three stage colours
    plan_top = box_of(s, "案件位置示意图")
    legend = box_of(s, "劝导", below=plan_top["y"])  # the legend under the plan
    assert legend["y"] > plan_top["y"] + 200, (plan_top, legend)
    plan = {"x": 0.0, "y": plan_top["y"] + plan_top["height"], "width": 412.0}
    plan["height"] = legend["y"] - plan["y"] - 4
    pixels = colour_counts(s, plan)
    for stage, colour in STAGE_COLOURS.items():
        assert near(pixels, colour) > 40, (stage, colour, pixels.most_common(8))
    screenshot_unhovered(s, "leader-squad-chart-plan")


def test_review_follows_the_day_and_highlights_hqs_reason(ui: LeaderUi, day: Day) -> None:
    s = ui.s
    ui.review()
    s.settle()
    shown = lines(s)
    text = "\n".join(shown)
    assert f"审核队列 · {DAY}" in shown, text  # the day chosen in 中队
    assert "待审核 4 起，其中须决定 1 起" in shown, text
    # the conflict (C) first, then the other waiting cases by time; the approved F's reason is not shown
    assert [no for no, _ in ui.queue()] == [day.c.case_no, day.a.case_no, day.e2.case_no, day.b.case_no]
    assert ui.queue()[2] == (day.e2.case_no, 2)
    conflict = [
        f"{day.c.case_no} · 第 1 版",
        "队员：王㐂（1023）",
        "当事人：赵老三烧烤",
        "本机阶段：警告 · HQ 阶段：处罚",
        "阶段依据：第2次，系统计算为警告",
        f"HQ 依据：{REASON_C[0]}",
        "照片 0 张",
        "处罚案件",
        "阶段不一致",
        "须中队长决定后才计入",
    ]
    assert in_order(shown, conflict), text
    assert [line for line in shown if line.startswith("HQ 依据")] == [f"HQ 依据：{REASON_C[0]}"], text
    # highlighted: HQ's line stands on its own colour, not on the card's like the phone's basis above it
    hq_line = dominant_colour(s, box_of(s, f"HQ 依据：{REASON_C[0]}"))
    basis = dominant_colour(s, box_of(s, "阶段依据：第2次，系统计算为警告"))
    assert hq_line != basis, (hq_line, basis)
    assert hq_line[0] > max(hq_line[1], hq_line[2]) + 20, hq_line  # the error container's red tint

    ui.start_return(day.a.case_no, RETURN_REASON)
    s.wait_control("button", "取消")
    assert [no for no, _ in ui.queue()][:2] == [day.c.case_no, day.a.case_no]  # nothing decided yet
    assert "已处理" not in lines(s)[: lines(s).index("确认退回")]
    screenshot_unhovered(s, "leader-review")
