"""A minimal change-notification base for state classes."""

from __future__ import annotations

import threading
from collections.abc import Callable

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
        with self._listeners_lock:
            listeners = list(self._listeners)
        for listener in listeners:
            listener()
