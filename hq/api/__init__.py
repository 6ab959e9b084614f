"""HQ's JSON API (``/v1``), one router module per area; ``hq.app.create_app`` wires them.

- ``errors``: ``ApiError``, the ``ErrorBody`` answers and the app's exception handlers
- ``limits``: request bodies capped before they are read (``BodyLimit``), NULs in URLs, ``nosniff``
- ``callers``: the protocol-header check and the bearer-token dependency (who is asking)
- ``auth_routes``: sign-in, sign-out, the devices list and revocation
- ``sync_routes``: push and pull
- ``photo_routes``: HEAD / PUT / GET of a photo by its SHA-256 (resumable uploads)
- ``read_routes``: server info, scoped reads of cases and subjects

Every router builder takes its collaborators (settings, storage, blobs, auth dependency) as arguments;
no module here holds state. This package imports nothing at package level, so ``hq.auth`` can use
``hq.api.errors`` without importing the routers.
"""
