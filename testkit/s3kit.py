"""A loopback S3 endpoint for tests: moto's server in this process (``ThreadedMotoServer``) on a free
127.0.0.1 port, with fake credentials. Nothing to install or start beforehand; HQ subprocesses reach it
through ``env()`` (``STREETPATROL_S3_ENDPOINT`` and the AWS variables)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from testkit.ports import free_port

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "streetpatrol-test",
    "AWS_SECRET_ACCESS_KEY": "streetpatrol-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


class S3Endpoint:
    def __init__(self, url: str) -> None:
        self.url = url

    def env(self) -> dict[str, str]:
        """What an HQ process needs in its environment to use this endpoint."""
        return {**CREDENTIALS, "STREETPATROL_S3_ENDPOINT": self.url}

    def client(self) -> Any:
        from hq.blobs.s3 import client_from_env  # only hq/blobs/s3.py imports boto3

        saved = {k: os.environ.get(k) for k in self.env()}
        os.environ.update(self.env())
        try:
            return client_from_env()
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    def new_bucket(self) -> str:
        """A fresh, empty bucket (one per test: the server outlives them)."""
        name = f"sp-{uuid.uuid4().hex[:20]}"
        self.client().create_bucket(Bucket=name)
        return name


@contextmanager
def moto_endpoint() -> Iterator[S3Endpoint]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield S3Endpoint(f"http://127.0.0.1:{port}")
    finally:
        server.stop()


class BucketBlobs:
    """HQ's photos in ``bucket`` under ``prefix`` (``hq.blobs.s3``'s layout: ``<prefix>blobs/<sha256>``,
    cut-off uploads ``<prefix>partial/…``), as ``testkit.fleet.tally`` counts them."""

    def __init__(self, client: Any, bucket: str, prefix: str) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""

    def _keys(self, under: str) -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix + under
        )
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def names(self) -> list[str]:
        return [key.rsplit("/", 1)[-1] for key in self._keys("blobs/")]

    def read(self, sha256: str) -> bytes | None:
        try:
            body: bytes = self.client.get_object(Bucket=self.bucket, Key=f"{self.prefix}blobs/{sha256}")[
                "Body"
            ].read()
        except self.client.exceptions.NoSuchKey:
            return None
        return body

    def leftovers(self) -> int:
        return len(self._keys("partial/"))
