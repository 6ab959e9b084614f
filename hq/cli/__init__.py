"""The ``streetpatrol-hq`` command line: ``main`` parses and dispatches; ``serve`` runs the HTTP service;
``storage`` chooses the database (``--db``, ``--pg``, the environment, the default ``scripts/run``
uses); ``policy``, ``notices``, ``tally``, ``workorders`` and ``zones`` are the administrative
subcommands of their parts.
"""
