"""End-to-end harness, the officer's way through the app's screens on a ``testkit.browser.Screen``: sign in,
the new-case wizard step by step, photos and save; and photo-like JPEGs to add as evidence."""

from __future__ import annotations

import random
import re
import time
from pathlib import Path

from testkit.browser import GEO, Screen
from testkit.harness import demo_pin

#: A saved case's number as the app shows it: ``已保存：ZD01-1023-261122-HY70A-0001``.
SAVED_RE = re.compile(r"已保存：([A-Z0-9]+-[A-Z0-9]+-\d{6}-[0-9A-Z]{5}-\d+)")
STEP_COUNT = 7


def evidence_jpeg(path: Path, seed: int, size: tuple[int, int] = (1600, 1200)) -> Path:
    """A photo-like JPEG (coloured blocks on a gradient), different for every ``seed``."""
    from PIL import Image, ImageDraw

    rnd = random.Random(seed)
    image = Image.linear_gradient("L").resize(size).convert("RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(80):
        x, y = rnd.randrange(size[0]), rnd.randrange(size[1])
        colour = (rnd.randrange(256), rnd.randrange(256), rnd.randrange(256))
        draw.rectangle([x, y, x + rnd.randrange(20, 400), y + rnd.randrange(20, 300)], fill=colour)
    image.save(path, "JPEG", quality=85)
    return path


class OfficerUi:
    """The officer app's screens as an officer goes through them (labels from mobile/i18n.py)."""

    def __init__(self, screen: Screen) -> None:
        self.s = screen

    def sign_in(self, badge: str, pin: str | None = None) -> None:
        self.s.wait_control("textbox", "执法证号")
        self.s.fill("执法证号", badge)
        self.s.fill("PIN 密码", pin or demo_pin(badge))
        self.s.tap("登录")
        self.s.wait_control("button", "新建案件", timeout=40)

    def current_step(self) -> int:
        found = re.search(rf"(\d)/{STEP_COUNT} ·", self.s.semantics_text())
        return int(found.group(1)) if found else 0

    def moved_on(self, old: int, *, timeout: float = 20.0) -> int:
        """Wait until the wizard has left step ``old`` (by a tap, or by itself after a GPS fix, a chosen
        subject, an added photo) and the screen has settled; returns the step now shown (0: left the
        wizard, e.g. saved)."""
        deadline = time.monotonic() + timeout
        while (current := self.current_step()) == old:
            if time.monotonic() > deadline:
                raise AssertionError(f"still on step {old} after {timeout} s:\n{self.s.semantics_text()}")
            time.sleep(0.1)
        self.s.settle()
        return self.current_step() or current

    def step(self, number: int) -> None:
        """Be on wizard step ``number``: tap 下一步 or 上一步 step by step. The app moves on by itself past
        steps that need nothing; 上一步 still shows each of them. Every tap must move the wizard: a lost
        tap is a bug of the app (the photos step used to re-render by itself a second after it was shown,
        replacing the 上一步 being tapped), not something to tap again."""
        self.s.settle()
        current = self.current_step()
        if current == 0:
            raise AssertionError(f"not in the new-case wizard:\n{self.s.semantics_text()}")
        for _ in range(3 * STEP_COUNT):
            if current == number:
                return
            self.s.tap("下一步" if current < number else "上一步")
            current = self.moved_on(current)
        raise AssertionError(f"on step {current}, wanted {number}")

    def new_case(self, violation: str) -> None:
        """From Today: 新建案件, then the violation's tile (the wizard then moves on to the location step,
        and past it once the GPS fix it asks for by itself arrives).

        Today re-renders whole while a sync runs; a tap that lands just then can be lost (seen in
        Chromium), so the tap is repeated once if the wizard did not open."""
        self.s.settle()
        self.s.tap("新建案件")
        try:
            self.s.wait_text(f"1/{STEP_COUNT} ·", timeout=5)
        except AssertionError:
            self.s.tap("新建案件")
            self.s.wait_text(f"1/{STEP_COUNT} ·")
        self.s.settle()
        self.s.tap(violation)
        self.moved_on(1)

    def locate(self) -> str:
        """The GPS fix of the browser context, which the location step asks for by itself (taps 获取 GPS
        定位 only if no fix came); returns the line the app shows."""
        fix = f"GPS {GEO['latitude']:.4f}"
        try:
            self.s.wait_text(fix, timeout=20)
        except AssertionError:
            self.s.tap("获取 GPS 定位")
            self.s.wait_text(fix, timeout=30)
        self.s.settle()
        return next(line for line in self.s.semantics_text().splitlines() if line.startswith("GPS "))

    def new_subject(self, name: str, phone: str) -> None:
        self.step(3)
        self.s.tap("新建当事人")
        self.s.fill("姓名 / 店名", name)
        self.s.fill("电话", phone)
        self.s.tap("保存当事人")
        self.moved_on(3)

    def find_subject(self, query: str, label: str) -> None:
        """Search the phone's registry and pick the entry whose label starts with ``label``."""
        self.step(3)
        self.s.fill("车牌、电话或姓名", query)
        self.s.wait_gone("最近的当事人")  # the results replaced the recent subjects
        self.s.settle()  # the list is rebuilt after every key: tap the final one
        self.s.tap_text(label, exact=False)
        self.moved_on(3)

    def recent_subject(self, label: str) -> None:
        """Pick a subject from 最近的当事人 (shown before anything is typed): one tap."""
        self.step(3)
        self.s.wait_text("最近的当事人")
        self.s.settle()
        self.s.tap_text(label, exact=False)
        self.moved_on(3)

    def stage_text(self) -> str:
        self.step(4)
        return self.s.semantics_text()

    def tab(self, name: str) -> None:
        """A destination of the bottom navigation bar (今日, 当事人, 同步, 设置)."""
        self.s.settle()
        self.s.tap(name, role="tab")

    def choose(self, option: str) -> None:
        """A radio option (disposition, subject kind)."""
        self.s.tap(option, role="radio")

    def add_photo(self, path: Path, count_after: int) -> None:
        """Step 6, 选择照片 and the file; the app then shows ``count_after`` photos (on the review)."""
        self.step(6)
        self.s.settle()  # the camera is tried first; on a browser without one the picker takes its place
        self.s.choose_file("选择照片", path)
        self.s.wait_text(f"{count_after} 张照片", timeout=40)

    def take_photo(self, count_after: int) -> None:
        """Step 6 with a camera: wait for the live preview to open, press the shutter (拍照)."""
        self.step(6)
        self.s.wait_text("对准现场后按“拍照”", timeout=30)
        self.s.tap("拍照")
        self.s.wait_text(f"{count_after} 张照片", timeout=40)

    def save(self) -> str:
        """Step 7, check it is ready, save; returns the case number the app reports."""
        self.step(7)
        review = self.s.semantics_text()
        if "可以保存" not in review:
            raise AssertionError(f"the case is not ready to save:\n{review}")
        self.s.tap("保存案件")
        self.s.wait_text("已保存：", timeout=30)
        match = SAVED_RE.search(self.s.semantics_text())
        if match is None:
            raise AssertionError(f"no case number in:\n{self.s.semantics_text()}")
        return match.group(1)

    def resolve_order(self, address: str, shown: tuple[str, ...], note: str, photo: Path, shot: str) -> None:
        """A work order on 今日 (found by ``address``; its detail must show each of ``shown``): arrive,
        resolve it as 当事人已自行整改 with ``note`` and one photo (screenshot ``shot`` before 办结), and come
        back to 今日, where the arrival, the resolution and the photo wait to be sent."""
        s = self.s
        s.tap_text(address, exact=False)
        s.wait_text("工单详情")
        detail = s.semantics_text()
        assert all(text in detail for text in shown), (shown, detail)
        s.tap("到达")
        s.wait_text("距反映地点", timeout=30)
        self.choose("当事人已自行整改")
        s.fill("办结说明", note)
        s.choose_file("添加照片", photo)
        s.wait_text("已添加照片 1 张", timeout=40)
        s.screenshot(shot)
        s.tap("办结")
        s.wait_text("已办结", timeout=30)
        s.tap("返回")
        s.wait_text("待传 2 条记录 · 1 张照片", timeout=60)
