"""Evidence photo files in an S3 bucket (any S3-compatible object store), for HQ nodes that share them.

``S3BlobStore`` implements ``hq.blobs.store.BlobStore`` over ``s3://bucket/prefix``: a photo is the object
``<prefix>blobs/<sha256>``; a cut-off upload (``hq.blobs.partials``) the object
``<prefix>partial/<sha256>.<uploader key>``, so a phone resumes on whichever node it reaches next. Uploads
are still spooled to a local directory (``temp_dir()``): the whole file is hashed there, and only a file
that hashes to its name is put under its name; an object under a photo's name is therefore always the
whole, verified photo (S3 makes an object visible only once its PUT completed). Reads stream from S3.

The client is boto3 (this module is the only one that imports it). Where and as whom, from the
environment: ``STREETPATROL_S3_ENDPOINT`` or ``AWS_ENDPOINT_URL`` (an S3-compatible endpoint; AWS itself
when neither is set), ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` (or any credential source boto3
knows), ``AWS_REGION`` / ``AWS_DEFAULT_REGION`` (default ``us-east-1``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO, cast

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from hq.blobs.partials import _NAME, OffsetMismatch, PartialStore, _Digest, copy_exactly
from hq.blobs.store import BlobError, BlobNotFound, _mismatch, check_name, sweep_spool, verify_file

_CHUNK = 1 << 20
_KEPT = "kept"  # object metadata: when the partial was kept (the partials' clock, seconds)


def parse_url(url: str) -> tuple[str, str]:
    """(bucket, prefix) of ``s3://bucket/prefix`` (the prefix ends in "/" unless empty)."""
    if not url.startswith("s3://"):
        raise BlobError(
            f"not an s3:// address: {url[:80]!r}", zh="对象存储地址须为 s3://桶/前缀", field="blobs"
        )
    bucket, _, prefix = url[len("s3://") :].partition("/")
    if not bucket:
        raise BlobError(f"no bucket in {url[:80]!r}", zh="对象存储地址缺少桶名", field="blobs")
    prefix = prefix.strip("/")
    return bucket, f"{prefix}/" if prefix else ""


def client_from_env() -> Any:
    """A boto3 S3 client configured from the environment (see the module doc)."""
    endpoint = os.environ.get("STREETPATROL_S3_ENDPOINT") or os.environ.get("AWS_ENDPOINT_URL") or None
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    config = Config(
        s3={"addressing_style": "path"} if endpoint else {},
        retries={"max_attempts": 5, "mode": "standard"},
        max_pool_connections=32,
    )
    return boto3.client("s3", endpoint_url=endpoint, region_name=region, config=config)


def _missing(exc: ClientError) -> bool:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    return code in ("404", "NoSuchKey", "NotFound")


class S3BlobStore:
    """``BlobStore`` in ``bucket`` under ``prefix``; spools in ``spool_dir`` (a local directory)."""

    def __init__(
        self, bucket: str, prefix: str = "", *, client: Any = None, spool_dir: str | Path | None = None
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.client = client if client is not None else client_from_env()
        if spool_dir is None:
            tag = hashlib.sha256(f"{bucket}/{prefix}".encode()).hexdigest()[:12]
            spool_dir = Path(tempfile.gettempdir()) / f"streetpatrol-spool-{tag}"
        self._tmp = Path(spool_dir)
        self._tmp.mkdir(parents=True, exist_ok=True)

    @classmethod
    def from_url(cls, url: str, *, client: Any = None, spool_dir: str | Path | None = None) -> S3BlobStore:
        bucket, prefix = parse_url(url)
        return cls(bucket, prefix, client=client, spool_dir=spool_dir)

    def _key(self, sha256: str) -> str:
        return f"{self.prefix}blobs/{check_name(sha256)}"

    def temp_dir(self) -> Path:
        return self._tmp

    def partial_uploads(
        self, *, max_age: timedelta, max_total_bytes: int, clock: Callable[[], float] = time.time
    ) -> PartialStore:
        return S3PartialUploads(
            self.client,
            self.bucket,
            self.prefix,
            max_age=max_age,
            max_total_bytes=max_total_bytes,
            clock=clock,
        )

    def sweep_temp(self, older_than: timedelta) -> int:
        return sweep_spool(self._tmp, older_than)

    def _head(self, sha256: str) -> dict[str, Any] | None:
        try:
            return cast(dict[str, Any], self.client.head_object(Bucket=self.bucket, Key=self._key(sha256)))
        except ClientError as exc:
            if _missing(exc):
                return None
            raise

    def _not_found(self, sha256: str) -> BlobNotFound:
        return BlobNotFound(f"no photo {sha256}", zh="指挥中心没有该照片", field="sha256")

    def has(self, sha256: str) -> bool:
        return self._head(sha256) is not None

    def size(self, sha256: str) -> int:
        head = self._head(sha256)
        if head is None:
            raise self._not_found(sha256)
        return int(head["ContentLength"])

    def open(self, sha256: str) -> BinaryIO:
        """The object's body, streamed from S3 (``read``/``close``; a context manager)."""
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(sha256))
        except ClientError as exc:
            if _missing(exc):
                raise self._not_found(sha256) from None
            raise
        return cast(BinaryIO, answer["Body"])

    def read(self, sha256: str) -> bytes:
        with contextlib.closing(self.open(sha256)) as body:
            return body.read()

    def path(self, sha256: str) -> Path:
        """A local copy of the blob (in the spool directory's ``cache``; for tools, not for serving)."""
        cache = self._tmp / "cache"
        cache.mkdir(exist_ok=True)
        final = cache / check_name(sha256)
        if not final.is_file():
            fd, name = tempfile.mkstemp(prefix="get-", dir=cache)
            with os.fdopen(fd, "wb") as handle, contextlib.closing(self.open(sha256)) as body:
                while chunk := body.read(_CHUNK):
                    handle.write(chunk)
            os.replace(name, final)
        return final

    def put(self, sha256: str, data: bytes) -> bool:
        key = self._key(sha256)
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:
            raise _mismatch(sha256, actual)
        if self.has(sha256):
            return False
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data)
        return True

    def adopt(self, sha256: str, temp_path: Path, *, hashed: bool = False) -> bool:
        key = self._key(sha256)
        try:
            if not hashed:
                verify_file(sha256, Path(temp_path))
            if self.has(sha256):
                return False
            # Verified before it is put: the object under the photo's name is only ever the photo.
            self.client.upload_file(str(temp_path), self.bucket, key)
            return True
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp_path)


class S3PartialUploads(PartialStore):
    """Partials as objects ``<prefix>partial/<sha256>.<uploader>`` in the shared bucket. A partial is
    replaced whole (a new object of the old bytes plus what arrived since), never appended to, so a reader
    sees one complete version. Its time kept is in the object's metadata (``kept``, from ``clock``)."""

    def __init__(
        self,
        client: Any,
        bucket: str,
        prefix: str = "",
        *,
        max_age: timedelta = timedelta(days=2),
        max_per_uploader: int = 4,
        max_total_bytes: int = 1 << 30,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            max_age=max_age, max_per_uploader=max_per_uploader, max_total_bytes=max_total_bytes, clock=clock
        )
        self.client = client
        self.bucket = bucket
        self.root = f"{prefix}partial/"

    @staticmethod
    def _time(answer: dict[str, Any]) -> float:
        kept = answer.get("Metadata", {}).get(_KEPT)
        try:
            return float(kept)
        except (TypeError, ValueError):
            return float(answer["LastModified"].timestamp())

    def _stat(self, name: str) -> tuple[int, float] | None:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self.root + name)
        except ClientError as exc:
            if _missing(exc):
                return None
            raise
        return int(head["ContentLength"]), self._time(head)

    def _read_prefix(self, name: str, offset: int, into: BinaryIO, digest: _Digest) -> None:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self.root + name)
        except ClientError as exc:
            if _missing(exc):
                raise OffsetMismatch(0) from None
            raise
        with contextlib.closing(answer["Body"]) as body:
            held = int(answer["ContentLength"]) if self._fresh(self._time(answer)) else 0
            if held < offset:
                raise OffsetMismatch(held)
            copy_exactly(body, offset, into, digest)

    def _publish(self, name: str, spool: Path) -> None:
        try:
            self.client.upload_file(
                str(spool), self.bucket, self.root + name, ExtraArgs={"Metadata": {_KEPT: repr(self.clock())}}
            )
        finally:
            with contextlib.suppress(FileNotFoundError):
                spool.unlink()

    def _remove(self, name: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self.root + name)

    def _list(self) -> list[tuple[float, int, str]]:
        entries = []
        for page in self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.root
        ):
            for item in page.get("Contents", []):
                name = item["Key"][len(self.root) :]
                if not _NAME.fullmatch(name):
                    continue
                info = self._stat(name)  # the time kept is in the metadata, which a listing does not show
                if info is not None:
                    entries.append((info[1], info[0], name))
        return entries

    def age(self, sha256: str, uploader: str, kept: float) -> None:
        """Set when a partial was kept (tests and tools; rewrites its metadata in place)."""
        key = self.root + self._name(sha256, uploader)
        self.client.copy_object(
            Bucket=self.bucket,
            Key=key,
            CopySource={"Bucket": self.bucket, "Key": key},
            Metadata={_KEPT: repr(kept)},
            MetadataDirective="REPLACE",
        )
