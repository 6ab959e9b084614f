"""Fixtures of the reliability tests: HQ's two-backend ``storage`` (SQLite and PostgreSQL, see
``tests/hq/conftest.py``)."""

from tests.hq.conftest import storage  # noqa: F401
