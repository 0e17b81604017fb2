"""`news-search serve`: the Flask app under waitress, a production WSGI server."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from indexer.cli import index_dir_option, main
from search_service.serving import ServeLimits, limit_options, run


@main.command()
@index_dir_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--threads", type=click.IntRange(1, 64), default=8, show_default=True)
@limit_options
def serve(index_dir: Path, host: str, port: int, threads: int, **limits: int) -> None:
    """Serve the search page and JSON API over INDEX_DIR (picks up new generations live)."""
    from indexer.store import IndexStore
    from search_service.app import create_app

    if IndexStore(index_dir).current() is None:
        raise click.ClickException(
            f"no index in {index_dir}: build one with `news-search rebuild SOURCE...` or `news-search demo`")

    # -- limits and workers (search_service/serving.py) -----------------------------------
    serve_limits = ServeLimits(**limits)

    overrides: dict[str, Any] = {"INDEX_DIR": str(index_dir), "MAX_CONTENT_LENGTH": serve_limits.body_limit}
    if serve_limits.worker_count() > 1 and "NEWS_SEARCH_INDEX_CHECK_INTERVAL" not in os.environ:
        # Every worker re-reads CURRENT on every request (tens of microseconds): with a check
        # interval, a client alternating between workers could see a switch go back and forth.
        overrides["INDEX_CHECK_INTERVAL"] = 0

    def make_app() -> Any:
        app = create_app(overrides)
        app.extensions["news_search"].snapshot()  # open before the first request
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
        run(make_app, host, port, threads, serve_limits)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    # -- end of limits and workers ----------------------------------------------------------
