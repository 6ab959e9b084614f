"""The phone-clock texts (``mobile.state.clock``), Chinese and English; merged into ``mobile.i18n``."""

from __future__ import annotations

ZH: dict[str, str] = {
    "clock.banner": "手机时间与指挥中心相差约 {hours} 小时，请校准时间；案件将记录设备时间和已知偏差",
    "clock.banner_unknown": "手机时间为 {year} 年，明显有误，请校准时间；同步一次后可按指挥中心时间记录",
    "clock.no_reference": (
        "手机时间为 {year} 年，无法生成案件编号。请在系统设置中校准时间，或联网同步一次后再试"
    ),
    "clock.shift_end_adjusted": "手机时间早于值班开始时间，结束时间按开始时间记录，并记录了设备时间",
}

EN: dict[str, str] = {
    "clock.banner": (
        "The phone's clock is about {hours} h off HQ's. Please set the time; cases record the device time "
        "and the known offset"
    ),
    "clock.banner_unknown": (
        "The phone's clock says {year}, which is wrong. Please set the time; after one sync cases use "
        "HQ's time"
    ),
    "clock.no_reference": (
        "The phone's clock says {year}, so no case number can be made. Set the time in the system "
        "settings, or sync once, and try again"
    ),
    "clock.shift_end_adjusted": (
        "The phone's clock is before the shift's start: the end is recorded at the start, with the device "
        "time"
    ),
}
