"""Entry point for ``flet build`` / ``flet run`` (which look for ``main.py``): the officer app.

It sits at the repository root because the phone bundle needs ``mobile/`` and the packages it imports
(``enforcement/``, ``patrollog/``, ``sync/``) and the catalogue and font in ``assets/``; pyproject's
``[tool.flet.app]`` excludes what only HQ, tests and benchmarks use."""

from __future__ import annotations

from mobile.app import run

if __name__ == "__main__":
    run()
