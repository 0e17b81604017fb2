"""`news-search serve`: the Flask app under waitress, a production WSGI server."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from indexer.store import IndexStore, index_dir_option
from search_service.errors import SearchError
from search_service.serve_site import site_config, site_options, waitress_options
from search_service.serving import ServeLimits, limit_options, run
from search_service.services import search_index


@click.command()
@index_dir_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--threads", type=click.IntRange(1, 64), default=8, show_default=True)
@site_options  # proxies, CORS, access log (serve_site.py)
@limit_options  # connection, header, body and idle limits, workers (serving.py)
def serve(index_dir: Path, host: str, port: int, threads: int, **options: Any) -> None:
    """Serve the search page and JSON API over INDEX_DIR (picks up new generations live)."""
    site = {k: v for k, v in options.items() if k.startswith("site_")}
    limits = {k: v for k, v in options.items() if not k.startswith("site_")}
    run_server(index_dir, host, port, threads, site_config(site), ServeLimits(**limits))


def run_server(index_dir: Path, host: str, port: int, threads: int = 8,
               site: dict[str, Any] | None = None, serve_limits: ServeLimits | None = None) -> None:
    """What `serve` and `demo` run: the app under waitress (one process per worker) until Ctrl-C."""
    from search_service.app import create_app

    serve_limits = serve_limits or ServeLimits()
    overrides: dict[str, Any] = {"INDEX_DIR": str(index_dir), "MAX_CONTENT_LENGTH": serve_limits.body_limit,
                                 **(site or {})}  # site: serve_site.site_config
    if serve_limits.worker_count() > 1 and "NEWS_SEARCH_INDEX_CHECK_INTERVAL" not in os.environ:
        # Every worker re-reads CURRENT on every request (tens of microseconds): with a check
        # interval, a client alternating between workers could see a switch go back and forth.
        overrides["INDEX_CHECK_INTERVAL"] = 0
    def make_app() -> Any:
        app = create_app(overrides)
        index = search_index(app)  # open before the first request
        if getattr(index, "engine_name", "whoosh") == "whoosh":
            index.snapshot()
        else:  # the Xapian shards: a shard down now is retried in the background (/readyz says)
            try:
                index.pool.state()
            except SearchError:
                pass
        return app

    from indexer import analysis
    from indexer.errors import IndexDamaged
    from indexer.store import open_index

    try:  # a damaged live generation: one Error line, not a traceback per worker
        open_index(IndexStore(index_dir).require_current())
    except IndexDamaged as exc:
        raise click.ClickException(str(exc)) from None
    analysis.ensure_initialised()  # jieba once, before forking: workers share its pages
    click.echo(f"Serving {index_dir} on http://{host}:{port}/ with {serve_limits.worker_count()} worker(s) "
               f"(Ctrl-C to stop)")
    try:
        # Site integration: waitress must pass proxy headers on when proxies are trusted (serve_site.py).
        run(make_app, host, port, threads, serve_limits, extra=waitress_options(create_app(overrides)))
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
