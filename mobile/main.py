"""Entry point for ``flet build`` / ``flet run`` (which look for ``main.py``): the officer app."""

from __future__ import annotations

from mobile.app import run

if __name__ == "__main__":
    run()
