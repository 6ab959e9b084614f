"""Fixtures shared by every test package: ``s3`` (a loopback S3 endpoint, moto's server started in this
process once per session, on first use; see ``testkit.s3kit``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testkit.s3kit import S3Endpoint, moto_endpoint


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Endpoint]:
    with moto_endpoint() as endpoint:
        yield endpoint
