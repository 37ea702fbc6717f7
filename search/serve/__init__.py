"""``claims serve``: a local HTTP API and search pages over one index folder (read-only).

``create_app(index_dir)`` builds the ASGI app (FastAPI); ``check_bind(host, token)`` is the start-up
rule (a non-loopback host needs a token). Modules: ``state`` (one ``Searcher`` per committed
generation, shared, swapped when an ingest commits), ``params`` (query parameters -> ``SearchOptions``
through ``search.options``), ``api`` (``/api/*``), ``streams`` (exports), ``pages`` (HTML), ``app`` (errors, token, docs).
"""

from search.serve.app import BindError, check_bind, create_app

__all__ = ["BindError", "check_bind", "create_app"]
