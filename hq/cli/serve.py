"""``streetpatrol-hq serve``: HQ's HTTP service under uvicorn, one process or ``--workers N``.

``serve --workers N`` runs N uvicorn worker processes on one port, each with its own storage connections
(``--pool-size`` per worker on PostgreSQL, so N × pool-size in all). What keeps them consistent is in the
database, not in a process: PostgreSQL numbers the change feed under an advisory lock (commit order across
processes) and deduplicates pushes under per-record advisory locks; SQLite lets one writer in at a time
across processes (``BEGIN IMMEDIATE`` with a busy timeout; the in-process writer queue only shortens the
wait within one worker), so its feed is numbered in commit order too. Sign-in throttling lives in the
database. Per-process are only the argon2 slots (one PIN check per core in each worker) and caches.

``serve --tls-cert FILE --tls-key FILE`` serves https (uvicorn's ``ssl_certfile``/``ssl_keyfile``, workers
too); the pair is loaded once before serving, so a missing file or a key that is not the certificate's is
one clear error. ``--trusted-proxy ADDR`` (repeatable; an address or network, added to
``STREETPATROL_TRUSTED_PROXIES``) names the reverse proxies whose ``X-Forwarded-For`` and
``X-Forwarded-Proto`` are believed: uvicorn gets exactly that list (``forwarded_allow_ips``; its own default
would trust any process on 127.0.0.1), and with no proxy configured forwarded headers are ignored.
"""

from __future__ import annotations

import argparse
import atexit
import copy
import gc
import logging
import os
import ssl
from dataclasses import replace
from pathlib import Path
from typing import TextIO

from fastapi import FastAPI

from hq.app import create_app
from hq.blobs.store import BlobStore, FilesystemBlobStore
from hq.cli.storage import CliError, storage_url
from hq.settings import Settings, proxy_addresses, settings_from_env
from hq.storage import is_postgres, open_storage
from hq.storage.base import Storage

__all__ = ["cmd_serve", "lean_logging", "open_blobs", "worker_app"]


#: How ``serve --workers N`` hands its options to the worker processes (uvicorn starts each one fresh and
#: calls ``worker_app``).
SERVE_STORAGE_ENV = "STREETPATROL_SERVE_STORAGE"
SERVE_BLOBS_ENV = "STREETPATROL_SERVE_BLOBS"
SERVE_POOL_ENV = "STREETPATROL_SERVE_POOL_SIZE"
PIN_CONCURRENT_ENV = "STREETPATROL_PIN_CONCURRENT"


def _open_serving(url: str, pool_size: int | None, *, create: bool) -> Storage:
    """The storage at ``url``; on PostgreSQL a pool of at most ``pool_size`` connections (default 10)."""
    if pool_size is None or not is_postgres(url):
        return open_storage(url, create=create)
    from hq.storage.postgres import PostgresStorage

    storage = PostgresStorage(url, min_size=1, max_size=pool_size)
    if create:
        storage.create_schema()
    return storage


def lean_logging() -> None:
    """No caller, thread or process lookups for each log record of the server (the access log writes one
    per request; its format uses none of them): the logging HOWTO's own optimisations."""
    logging._srcfile = None
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False


def settle_long_lived() -> None:
    """Once the app is built, what is alive (modules, the catalogue, FastAPI's routes, pydantic's
    validators and serializers: ~170,000 objects) lives as long as the process: the cyclic collector stops
    walking it at every full collection (``gc.freeze``, as the ``gc`` docs advise for a server that has
    finished starting up). Requests' garbage is collected as before. Without the freeze the collector is
    5.5 % of ingest's instructions (bench/ingest_instructions.py --breakdown)."""
    gc.collect()
    gc.freeze()


def worker_app() -> FastAPI:
    """The HQ app of one ``serve --workers N`` worker process (an uvicorn app factory)."""
    lean_logging()
    pool = os.environ.get(SERVE_POOL_ENV, "")
    storage = _open_serving(os.environ[SERVE_STORAGE_ENV], int(pool) if pool else None, create=False)
    atexit.register(storage.close)
    app = create_app(storage, open_blobs(os.environ[SERVE_BLOBS_ENV]), settings_from_env())
    settle_long_lived()
    return app


def open_blobs(where: str) -> BlobStore:
    """The photo store ``serve --blobs`` names: ``s3://bucket/prefix`` (``hq.blobs.s3``, shared by HQ
    nodes; endpoint and credentials from the environment) or a local directory."""
    if where.startswith("s3://"):
        from hq.blobs.s3 import S3BlobStore  # boto3 only when the S3 store is used

        return S3BlobStore.from_url(where)
    return FilesystemBlobStore(where)


def _check_serve_options(args: argparse.Namespace) -> None:
    if args.workers < 1:
        raise CliError("--workers must be at least 1", zh="--workers 须为正整数", field="workers")
    if args.pool_size is not None:
        if not args.pg:
            raise CliError(
                "--pool-size sizes the PostgreSQL connection pool; it needs --pg",
                zh="--pool-size 是 PostgreSQL 连接池大小，须与 --pg 一起使用",
                field="pool_size",
            )
        if args.pool_size < 1:
            raise CliError("--pool-size must be at least 1", zh="--pool-size 须为正整数", field="pool_size")


def _check_tls(args: argparse.Namespace) -> None:
    """The certificate and key of ``--tls-cert``/``--tls-key`` load as a pair (CliError naming why not)."""
    if args.tls_cert is None and args.tls_key is None:
        return
    if args.tls_cert is None or args.tls_key is None:
        raise CliError(
            "--tls-cert and --tls-key go together", zh="--tls-cert 与 --tls-key 须同时指定", field="tls_cert"
        )
    for name, path in (("tls_cert", args.tls_cert), ("tls_key", args.tls_key)):
        if not Path(path).is_file():
            flag = "--" + name.replace("_", "-")
            raise CliError(f"{flag}: no such file: {path}", zh=f"{flag} 文件不存在：{path}", field=name)
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(
            args.tls_cert,
            args.tls_key,
            password=lambda: b"",  # never a passphrase prompt
        )
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise CliError(
            f"the TLS certificate and key cannot be used together ({exc}): check that --tls-key is the key "
            "of --tls-cert, both PEM, the key not encrypted",
            zh="TLS 证书与私钥无法使用：请确认 --tls-key 是 --tls-cert 证书对应的私钥，"
            "均为 PEM 格式且私钥未加密",
            field="tls_key",
        ) from exc


def _uvicorn_transport(args: argparse.Namespace, settings: Settings) -> dict[str, object]:
    """uvicorn's HTTP protocol (``hq.api.malformed``), TLS and forwarded-header options: proxy headers only
    from the configured proxies. And its
    logging, with a plain formatter for the access log: the same line per request (client, request line,
    status) without uvicorn's colour and status-phrase formatting (about 4 % of HQ's CPU in bench/load.py)."""
    from uvicorn.config import LOGGING_CONFIG

    from hq.api.malformed import HTTP_PROTOCOL  # imports uvicorn: only where a server is started

    log_config = copy.deepcopy(LOGGING_CONFIG)
    log_config["formatters"]["access"] = {"format": "%(levelname)s:     %(message)s"}
    options: dict[str, object] = {
        "http": HTTP_PROTOCOL,  # a request that is not HTTP gets the ErrorBody (hq.api.malformed)
        "proxy_headers": bool(settings.trusted_proxies),
        "forwarded_allow_ips": ",".join(settings.trusted_proxies),  # never uvicorn's 127.0.0.1 default
        "log_config": log_config,
    }
    if args.tls_cert is not None:
        options.update(ssl_certfile=str(args.tls_cert), ssl_keyfile=str(args.tls_key))
    return options


def cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    import uvicorn  # the server only where one is started (not for the other commands)

    _check_serve_options(args)
    _check_tls(args)
    lean_logging()
    settings = settings_from_env()  # a bad STREETPATROL_* value is one clear error, before any worker
    if args.trusted_proxy:
        proxies = settings.trusted_proxies + proxy_addresses(args.trusted_proxy, "--trusted-proxy")
        settings = replace(settings, trusted_proxies=tuple(dict.fromkeys(proxies)))
        os.environ["STREETPATROL_TRUSTED_PROXIES"] = ",".join(settings.trusted_proxies)  # for the workers
    transport = _uvicorn_transport(args, settings)
    scheme = "https" if args.tls_cert is not None else "http"
    url = storage_url(args)
    storage = _open_serving(url, args.pool_size, create=True)  # the schema, once, before any worker
    workers = f", {args.workers} 个工作进程 / workers" if args.workers > 1 else ""
    print(f"指挥中心服务 / HQ service: {scheme}://{args.host}:{args.port}{workers}", file=out)
    if args.workers > 1:
        storage.close()
        os.environ[SERVE_STORAGE_ENV] = url
        blobs = args.blobs if args.blobs.startswith("s3://") else str(Path(args.blobs).resolve())
        os.environ[SERVE_BLOBS_ENV] = blobs
        os.environ[SERVE_POOL_ENV] = str(args.pool_size or "")
        # argon2 memory stays bounded by the cores, not by cores x workers: each worker gets its share
        os.environ.setdefault(PIN_CONCURRENT_ENV, str(max(1, (os.cpu_count() or 2) // args.workers)))
        uvicorn.run(
            "hq.cli.serve:worker_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level="info",
            **transport,  # type: ignore[arg-type]
        )
        return 0
    app = create_app(storage, open_blobs(args.blobs), settings)
    settle_long_lived()
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level="info", **transport)  # type: ignore[arg-type]
    finally:
        storage.close()
    return 0
