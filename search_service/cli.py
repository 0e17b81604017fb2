"""The `news-search` console script: one click group, assembled here.

This is the composition root of the command line. It sits above both packages, so it is the one
module of search_service that imports the indexer's command modules (indexer.cli, indexer.cli_admin, indexer.cli_sync;
tests/test_architecture.py allows exactly these edges). Errors of both libraries are turned into
one-line messages (exit status 1, no traceback) in ``NewsSearchGroup.invoke``, for every command.
"""
from __future__ import annotations

from pathlib import Path

import click

from indexer import cli as indexer_cli
from indexer import cli_admin, cli_sync
from indexer.errors import NewsSearchError
from indexer.store import index_dir_option
from search_service import cli_dict, cli_hot, cli_report, cli_search, cli_serve


class NewsSearchGroup(click.Group):
    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except NewsSearchError as exc:
            # Every NewsSearchError message names what went wrong and the next step to take
            # (e.g. "no index in DIR: build one with `news-search rebuild SOURCE...`").
            raise click.ClickException(str(exc)) from None
        except OSError as exc:
            if not exc.strerror:
                raise
            raise indexer_cli.fail(exc) from None  # a full disk or unreadable file: one line naming the file


@click.group(cls=NewsSearchGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="news-search")
def main() -> None:
    """news-search: full-text search over Chinese news archives."""


@click.command()
@index_dir_option
@click.option("--rebuild", "force", is_flag=True, help="Rebuild the demo index even if it exists.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--no-serve", is_flag=True, help="Build (if needed) and print stats, then exit.")
def demo(index_dir: Path, force: bool, host: str, port: int, no_serve: bool) -> None:
    """Build the bundled demo articles into INDEX_DIR (if missing) and serve them."""
    indexer_cli.build_demo(index_dir, force)
    if not no_serve:
        cli_serve.run_server(index_dir, host, port)


# Admin commands: every command on the indexer's group (indexer/cli.py, indexer/cli_admin.py).
for _command in cli_admin.admin.commands.values():  # indexer.cli's group, with cli_admin's added
    main.add_command(_command)
main.add_command(demo)
main.add_command(cli_sync.sync)
main.add_command(cli_dict.check_dict)
# Search commands.
main.add_command(cli_search.search)
main.add_command(cli_search.related)
main.add_command(cli_serve.serve)
main.add_command(cli_hot.hot)
main.add_command(cli_report.report)  # editors' search analytics

if __name__ == "__main__":
    main()
