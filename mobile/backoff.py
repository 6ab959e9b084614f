"""The phone's one backoff rule: how long to wait before trying HQ again after ``attempt`` failed tries.

Used by the HQ client's request retries (``mobile.hqclient.transport``) and by the sync link's automatic
retry after a failed sync (``mobile.state.sync``); each passes its own base and cap.
"""

from __future__ import annotations


def backoff_delay(attempt: int, *, base: float, cap: float, jitter: float) -> float:
    """Exponential backoff with jitter: between half and all of ``base * 2**attempt``, capped at ``cap``.

    ``attempt`` counts from 0 (the first retry waits about ``base``); ``jitter`` in [0, 1] picks the point
    in that range (0: half, 1: all), so that the phones of a squad do not retry in step."""
    ceiling = min(cap, base * 2.0**attempt)
    return ceiling / 2 + ceiling / 2 * jitter
