"""Two weeks offline: 700 cases and 2,000 photos reach HQ in one sync, exactly once, in bounded memory."""

from __future__ import annotations

import tracemalloc
from datetime import timedelta

import pytest

from testkit.hqkit import Hq
from tests.sync.conftest import AT, ClientFactory, Phone, signed_in
from tests.sync.test_faults import assert_nothing_lost_or_duplicated

CASES = 700
PHOTOS = 2000
PHOTO_BYTES = 24 * 1024


@pytest.mark.slow
def test_two_weeks_offline_sync_in_bounded_memory(hq: Hq, phone: Phone, make_client: ClientFactory) -> None:
    extra = PHOTOS - 2 * CASES  # 2 photos each, 3 for the first ``extra`` cases
    for i in range(CASES):
        phone.record_case(
            photos=3 if i < extra else 2,
            occurred_at=AT - timedelta(days=14) + timedelta(minutes=29 * i),
            photo_size=PHOTO_BYTES,
        )
    assert phone.store.photo_stats() == (PHOTOS, PHOTOS * PHOTO_BYTES)
    client = signed_in(make_client(phone))
    tracemalloc.start()
    try:
        report = client.sync_once()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.ok, report.error
    assert report.pushed == CASES
    assert report.photos_uploaded == PHOTOS
    assert_nothing_lost_or_duplicated(hq, phone)
    # Python allocations of phone and HQ together stay far below the photo volume (~47 MB): batches are
    # bounded and photos stream from and to files in chunks.
    assert peak < 16 * 2**20, f"peak {peak / 2**20:.1f} MiB"
