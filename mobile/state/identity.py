"""The squad leader's 当事人合并 on the phone (issue #22): HQ's merge suggestions (strong pairs flagged) and
open subject field conflicts of the leader's district, with Merge and Resolve.

``refresh()`` fetches both from HQ through the sync link's backend (``mobile.hqclient.identity``) and keeps
them in the store (``metakeys.IDENTITY``), so the last fetched lists show offline too; each side of a pair
shows the cases this phone holds of that subject. ``merge(pair)`` and ``resolve(conflict, take)`` need HQ:
offline they change nothing and say so (``OFFLINE``, zh/en; HQ's refusal is shown in its own words);
after a merge the link syncs at once, so the alias and the restaged cases reach this phone. Methods that
talk to HQ are async (the link's worker does the request; the UI thread only awaits it).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any, Protocol, cast

from enforcement.model import HistoryEntry
from enforcement.text import LocalizedError
from mobile import metakeys
from mobile.hqclient.identity import IdentityClient
from mobile.state.observable import Observable
from mobile.state.sync import SyncLink
from sync.protocol import MergeSuggestion, SubjectConflictOut

OFFLINE = LocalizedError(
    "Offline: merging and resolving need a connection to HQ; the lists below are from the last refresh",
    zh="离线：合并和处理冲突需要连接指挥中心；下列内容为上次刷新时的数据",
    code="offline",
)


class IdentityStore(Protocol):
    def meta_get(self, key: str) -> str | None: ...
    def meta_set(self, key: str, value: str) -> None: ...
    def subject_history(self, subject_id: str) -> list[HistoryEntry]: ...


class IdentityBackend(Protocol):
    @property
    def identity(self) -> IdentityClient: ...


@dataclass(frozen=True, slots=True)
class Side:
    subject_id: str
    label: str
    cases: int  # cases of this subject the phone holds


class IdentityState(Observable):
    def __init__(self, store: IdentityStore, link: SyncLink, badge: Any) -> None:
        super().__init__()
        self._store = store
        self._link = link
        self._badge = badge  # () -> the signed-in badge or None
        self.suggestions: list[MergeSuggestion] = []
        self.conflicts: list[SubjectConflictOut] = []
        self.error: LocalizedError | None = None
        self.note = ""  # an i18n key of what the last action did
        self.load()

    # -- the kept lists --------------------------------------------------------------------------------
    def _key(self) -> str | None:
        badge = self._badge()
        return metakeys.IDENTITY.format(badge=badge) if badge else None

    def load(self) -> None:
        """The lists last fetched by the signed-in leader (empty when none)."""
        key = self._key()
        raw = self._store.meta_get(key) if key else None
        self.suggestions, self.conflicts = [], []
        if raw:
            try:
                data = json.loads(raw)
                self.suggestions = [MergeSuggestion.model_validate(s) for s in data.get("suggestions", [])]
                self.conflicts = [SubjectConflictOut.model_validate(c) for c in data.get("conflicts", [])]
            except (ValueError, TypeError):  # an unreadable cache is only a cache
                self.suggestions, self.conflicts = [], []
        self.notify()

    def _keep(self) -> None:
        key = self._key()
        if key:
            data = {
                "suggestions": [s.model_dump(mode="json") for s in self.suggestions],
                "conflicts": [c.model_dump(mode="json") for c in self.conflicts],
            }
            self._store.meta_set(key, json.dumps(data, ensure_ascii=False))

    def sides(self, pair: MergeSuggestion) -> tuple[Side, Side]:
        """Both subjects of a pair with the cases this phone holds of each (earlier-registered first as HQ
        lists them)."""
        return (
            Side(pair.a, pair.a_label, len(self._store.subject_history(pair.a))),
            Side(pair.b, pair.b_label, len(self._store.subject_history(pair.b))),
        )

    def forget(self) -> None:
        self.suggestions, self.conflicts, self.error, self.note = [], [], None, ""
        self.notify()

    # -- HQ --------------------------------------------------------------------------------------------
    async def _call(self, job: Any) -> Any:
        future = self._link.submit(lambda backend: job(cast(IdentityBackend, backend).identity))
        try:
            return await asyncio.wrap_future(future)
        except LocalizedError as exc:  # offline, or HQ refused (already merged, …): said, nothing changed
            self.error = OFFLINE if self._link.error_kind(exc) == "offline" else exc
            self.notify()
            return None
        except OSError:
            self.error = OFFLINE
            self.notify()
            return None

    async def refresh(self) -> bool:
        """Fetch the district's suggestions and open conflicts from HQ; False when offline (the kept lists
        stay and ``error`` says why)."""
        self.error, self.note = None, ""
        found = await self._call(lambda client: (client.suggestions(), client.conflicts()))
        if found is None:
            return False
        suggestions, conflicts = found
        self.suggestions = list(suggestions.suggestions)
        self.conflicts = [c for c in conflicts.conflicts if not c.resolved]
        self._keep()
        self.note = "identity.refreshed"
        self.notify()
        return True

    async def merge(self, pair: MergeSuggestion) -> bool:
        """Merge the pair's second subject into its first at HQ; False when offline."""
        self.error, self.note = None, ""
        done = await self._call(lambda client: client.merge(pair.b, pair.a))
        if done is None:
            return False
        self.suggestions = [s for s in self.suggestions if (s.a, s.b) != (pair.a, pair.b)]
        self._keep()
        self.note = "identity.merged"
        self._link.kick()  # the alias and the restaged cases come with the next pull
        self.notify()
        return True

    async def resolve(self, conflict: SubjectConflictOut, take: str) -> bool:
        """Keep HQ's value (``take="hq"``) or the phone's (``"pushed"``); False when offline."""
        self.error, self.note = None, ""
        done = await self._call(lambda client: client.resolve(conflict.id, take))
        if done is None:
            return False
        self.conflicts = [c for c in self.conflicts if c.id != conflict.id]
        self._keep()
        self.note = "identity.resolved"
        self._link.kick()
        self.notify()
        return True
