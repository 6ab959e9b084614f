"""A minimal change-notification base for state classes."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

Listener = Callable[[], None]


class Observable:
    """Keeps listeners and calls them after a change. Listeners may be called from a worker thread
    (the sync link's); views marshal back onto the UI loop themselves."""

    def __init__(self) -> None:
        self._listeners: list[Listener] = []
        self._listeners_lock = threading.Lock()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Register ``listener``; returns a function that unregisters it."""
        with self._listeners_lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._listeners_lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def notify(self) -> None:
        """Call every listener. A listener that raises is logged with its traceback and the others are
        still called: the change it follows has happened (a case saved, a sync step done), and neither
        the change's caller nor the other screens may fail because one follower did."""
        with self._listeners_lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener()
            except Exception:
                log.exception("a listener of %s failed", type(self).__name__)
