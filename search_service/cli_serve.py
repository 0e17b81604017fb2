"""`news-search serve`: the Flask app under waitress, a production WSGI server."""
from __future__ import annotations

from pathlib import Path

import click

from indexer.store import index_dir_option


@click.command()
@index_dir_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--threads", type=click.IntRange(1, 64), default=8, show_default=True)
def serve(index_dir: Path, host: str, port: int, threads: int) -> None:
    """Serve the search page and JSON API over INDEX_DIR (picks up new generations live)."""
    run_server(index_dir, host, port, threads)


def run_server(index_dir: Path, host: str, port: int, threads: int = 8) -> None:
    """What `serve` and `demo` run: the app under waitress until Ctrl-C."""
    from waitress import serve as waitress_serve

    from indexer.store import IndexStore
    from search_service.app import create_app, search_index

    if IndexStore(index_dir).current() is None:
        raise click.ClickException(
            f"no index in {index_dir}: build one with `news-search rebuild SOURCE...` or `news-search demo`")
    app = create_app({"INDEX_DIR": str(index_dir)})
    search_index(app).snapshot()  # open (and load jieba) before the first request
    click.echo(f"Serving {index_dir} on http://{host}:{port}/ (Ctrl-C to stop)")
    waitress_serve(app, host=host, port=port, threads=threads, ident="news-search")
