"""The HQ HTTP service: ``create_app(storage, blobs, settings)`` builds the FastAPI app (run under uvicorn).

Routes are listed in ``sync.protocol``'s docstring; each area is a router of ``hq.api`` (sign-in and
devices, push and pull, photos, reads), plus the review router (``hq.review``) and the dashboard
(``hq.dash.board``). This module only wires them: it makes the collaborators (``Auth``, the bearer-token
dependency, the partial-upload store), installs the error handlers (``hq.api.errors``: every answer other
than 2xx is an ``ErrorBody``; a busy database 503 ``UNAVAILABLE`` with Retry-After), the request limits
(``hq.api.limits``) and the browser guard (``hq.api.browser``: security headers, cross-site dashboard
writes refused), and hands each router builder what it needs. The interactive docs (/docs, /redoc) exist
only when ``Settings.api_docs``; /openapi.json always.
"""

from fastapi import FastAPI

from enforcement.catalogue import Catalogue, load_catalogue
from hq.api import (
    auth_routes,
    notice_routes,
    open311_routes,
    photo_routes,
    policy_routes,
    read_routes,
    subject_routes,
    sync_routes,
    workorder_routes,
    zone_routes,
)
from hq.api.browser import install_browser_guard
from hq.api.callers import principal_dependency
from hq.api.errors import install_error_handlers
from hq.api.limits import install_limits
from hq.api.transport_security import StrictTransportSecurity
from hq.auth import Auth
from hq.blobs.store import BlobStore
from hq.dash import public as publicpage
from hq.dash.board import install_dashboard
from hq.dash.orders import install_dashorders
from hq.dash.subjects import install_dashsubjects
from hq.dash.zones import install_dashzones
from hq.review import build_router as build_review_router
from hq.settings import Settings
from hq.storage.base import Storage


def create_app(
    storage: Storage,
    blobs: BlobStore,
    settings: Settings | None = None,
    *,
    catalogue: Catalogue | None = None,
) -> FastAPI:
    """The HQ app over ``storage`` (its schema must exist) and ``blobs`` (photo files)."""
    settings = settings or Settings()
    catalogue = catalogue or load_catalogue()
    auth = Auth(storage, settings)
    app = FastAPI(
        title="StreetPatrol HQ 街巡指挥中心",
        version="1",
        description="Sync and review service of StreetPatrol. Errors: ErrorBody with a stable errno.",
        docs_url="/docs" if settings.api_docs else None,
        redoc_url="/redoc" if settings.api_docs else None,
    )
    app.state.storage = storage
    app.state.blobs = blobs
    app.state.settings = settings
    app.state.auth = auth
    # Spools of requests a dead HQ process left behind, and cut-off uploads kept past their time.
    blobs.sweep_temp(settings.stale_temp_age)
    partials = blobs.partial_uploads(
        max_age=settings.partial_upload_ttl,
        max_total_bytes=settings.partial_uploads_max_bytes,
    )
    partials.sweep()
    app.state.partials = partials
    install_error_handlers(app, settings)
    install_limits(app, settings)
    install_browser_guard(app, settings)
    app.add_middleware(StrictTransportSecurity)  # outermost: every answer over TLS, errors too

    principal = principal_dependency(auth)
    app.include_router(read_routes.build_health_router(settings))
    app.include_router(auth_routes.build_router(storage, settings, auth, principal))
    app.include_router(sync_routes.build_router(storage, settings, catalogue, auth))
    sync_routes.publish_push_schema(app)
    app.include_router(photo_routes.build_router(storage, blobs, partials, settings, principal, auth))
    app.include_router(read_routes.build_router(storage, principal))
    app.include_router(policy_routes.build_router(storage, principal))
    app.include_router(build_review_router(storage, settings, catalogue, principal))
    app.include_router(zone_routes.build_router(storage, settings, principal))
    app.include_router(notice_routes.build_router(storage, settings, principal))
    app.include_router(workorder_routes.build_router(storage, settings, catalogue, principal))
    app.include_router(open311_routes.build_router(storage, settings, catalogue, lambda: _district(storage)))
    app.include_router(publicpage.build_router(storage, settings, catalogue))
    app.include_router(subject_routes.build_router(storage, settings, principal))
    install_dashboard(app, storage, auth, settings, catalogue)
    install_dashzones(app, storage, auth, settings)
    install_dashorders(app, storage, auth, settings, catalogue)
    install_dashsubjects(app, storage, auth, settings, catalogue)
    return app


def _district(storage: Storage) -> str:
    """The district Open311 partners file into: the first squad's (one HQ serves one bureau)."""
    with storage.transaction(readonly=True) as tx:
        squads = tx.list_squads()
    return squads[0].district if squads else ""
