"""What an evidence photo's watermark (水印) says, as text. No PIL here: ``mobile.photos`` draws it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Watermark:
    """What is burned into an evidence photo. ``captured_at`` must carry its time zone."""

    captured_at: datetime
    lat: float | None
    lon: float | None
    badge: str
    case_no: str
    violation_name: str

    def __post_init__(self) -> None:
        if self.captured_at.utcoffset() is None:
            raise ValueError("captured_at must carry a time zone")
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon come together or not at all")
        if (
            self.lat is not None
            and self.lon is not None
            and not (-90 <= self.lat <= 90 and -180 <= self.lon <= 180)
        ):
            raise ValueError(f"not a position: {self.lat}, {self.lon}")

    def lines(self) -> list[str]:
        """The watermark's text, one entry per line (Chinese labels: the bureau's evidence language)."""
        offset = self.captured_at.utcoffset()
        assert offset is not None
        minutes = int(offset.total_seconds()) // 60
        zone = f"UTC{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
        if self.lat is None or self.lon is None:
            place = "无定位"
        else:
            place = (
                f"{abs(self.lat):.5f}°{'N' if self.lat >= 0 else 'S'} "
                f"{abs(self.lon):.5f}°{'E' if self.lon >= 0 else 'W'}"
            )
        return [
            f"时间 {self.captured_at:%Y-%m-%d %H:%M:%S} {zone}",
            f"位置 {place}",
            f"警号 {self.badge}  案号 {self.case_no}",
            f"事由 {self.violation_name}",
        ]
