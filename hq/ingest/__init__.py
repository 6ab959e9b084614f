"""Push ingest: the phones' records into HQ's storage, one transaction per batch (``push.ingest_batch``).

``push`` applies a batch and answers each record; ``cases`` checks and stages case records; ``base``
is what every record kind shares (parsing, receipts, duplicates); ``view`` is the batch's set-based
view (history prefetched once, rows written a table at a time); ``rules`` the record rules that read
no storage (refusals, payload hashes, sequence gaps).
"""
