"""What an evidence photo's watermark (水印) says, as text. No PIL here: ``mobile.photos`` draws it.

The time printed is the best-known time (``mobile.state.clock``). When the phone's own clock is known to be
wrong (it differs from the best-known time by more than ``enforcement.clock.TOLERANCE``), the watermark
says so on the photo itself, as a reviewer comparing it with the phone's file times or a recorder's
(执法记录仪) footage needs: the time line names the reference it was corrected by (指挥中心 or GPS) and a
second line gives the phone's own reading as 设备时间. A photo never shows one time while the case
record holds another, and nothing of the correction is left for the reader to guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from enforcement.clock import TOLERANCE

#: The reference a corrected time came from, as the watermark names it.
_SOURCES = {"hq": "指挥中心", "gps": "GPS"}


@dataclass(frozen=True, slots=True)
class Watermark:
    """What is burned into an evidence photo. ``captured_at`` (the best-known time) must carry its time
    zone; ``device_at`` is the phone's own reading at that moment and ``clock_source`` where the
    correction came from ("hq", "gps"), given when the clock is known to be wrong (``lines``)."""

    captured_at: datetime
    lat: float | None
    lon: float | None
    badge: str
    case_no: str
    violation_name: str
    device_at: datetime | None = None
    clock_source: str = ""

    def __post_init__(self) -> None:
        if self.captured_at.utcoffset() is None:
            raise ValueError("captured_at must carry a time zone")
        if self.device_at is not None and self.device_at.utcoffset() is None:
            raise ValueError("device_at must carry a time zone")
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon come together or not at all")
        if (
            self.lat is not None
            and self.lon is not None
            and not (-90 <= self.lat <= 90 and -180 <= self.lon <= 180)
        ):
            raise ValueError(f"not a position: {self.lat}, {self.lon}")

    @property
    def corrected(self) -> bool:
        """Whether the time printed is not the phone's own: its clock differs by more than the tolerance."""
        return self.device_at is not None and abs(self.device_at - self.captured_at) > TOLERANCE

    def lines(self) -> list[str]:
        """The watermark's text, one entry per line (Chinese labels: the bureau's evidence language). A
        corrected time says by what, and the phone's own reading follows it as 设备时间."""
        zone = _zone(self.captured_at)
        time_line = f"时间 {self.captured_at:%Y-%m-%d %H:%M:%S} {zone}"
        extra = []
        if self.corrected and self.device_at is not None:
            source = _SOURCES.get(self.clock_source, "")
            time_line += f"（已按{source}时间校正）" if source else "（已校正）"
            device = self.device_at.astimezone(self.captured_at.tzinfo)
            extra.append(f"设备时间 {device:%Y-%m-%d %H:%M:%S}（手机时钟有误）")
        if self.lat is None or self.lon is None:
            place = "无定位"
        else:
            place = (
                f"{abs(self.lat):.5f}°{'N' if self.lat >= 0 else 'S'} "
                f"{abs(self.lon):.5f}°{'E' if self.lon >= 0 else 'W'}"
            )
        return [
            time_line,
            *extra,
            f"位置 {place}",
            f"警号 {self.badge}  案号 {self.case_no}",
            f"事由 {self.violation_name}",
        ]


def _zone(moment: datetime) -> str:
    offset = moment.utcoffset()
    assert offset is not None
    minutes = int(offset.total_seconds()) // 60
    return f"UTC{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
