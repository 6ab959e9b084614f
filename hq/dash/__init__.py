"""HQ's web dashboard: server-rendered pages for HQ staff, squad leaders and the desk, plus the public
disclosure page.

``board`` is the router and the read-only pages (day logs, queue, figures); the pages that change
something each have a module (``orders``: work orders, ``subjects``: the registry, ``zones``: zones,
``policy``: the staged rule's policy); ``caller`` is the cookie check and role gate every page uses;
``lists``, ``figures``, ``chart`` and ``fonts`` are what the pages are drawn with; ``public`` is the
page with no sign-in (``/public``).
"""
