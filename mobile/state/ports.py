"""Small Protocols the state classes share for what they need of each other.

``SyncSoon``: the sync link's "sync as soon as possible" (``SyncLink.kick``), which a save or a review
calls so that the record leaves for HQ without waiting for the next periodic sync.
"""

from __future__ import annotations

from typing import Protocol


class SyncSoon(Protocol):
    """Something that starts a sync soon (``mobile.state.sync.SyncLink``)."""

    def kick(self) -> None: ...
