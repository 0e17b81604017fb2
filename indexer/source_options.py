"""Command-line options that turn a database URL given as SOURCE into a DbSource.

`rebuild`, `update` and `sync` share them through one decorator, so each command only gains a line.
Credentials come from --password-env or --password-file; an inline password in the URL works too but
is never printed (see indexer.source_db.mask_url).
"""
from __future__ import annotations

import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from indexer.errors import NewsSearchError

_OPTION_NAMES = ("preset", "table_prefix", "mapping", "password_env", "password_file", "base_url")


def db_source_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add the database-source options; the wrapped command receives DbSource objects in `sources`."""

    @functools.wraps(func)
    def wrapper(**kwargs: Any) -> Any:
        options = {name: kwargs.pop(name) for name in _OPTION_NAMES}
        if "sources" in kwargs:
            kwargs["sources"] = tuple(to_sources(kwargs["sources"], **options))
        else:
            kwargs["source"] = to_sources((kwargs["source"],), **options)[0]
        return func(**kwargs)

    for decorator in reversed((
        click.option("--preset", type=click.Choice(["dedecms"]), help="Built-in mapping for a database SOURCE."),
        click.option("--table-prefix", default="dede_", show_default=True,
                     help="Table name prefix of the preset (DedeCMS: dede_)."),
        click.option("--mapping", type=click.Path(dir_okay=False, exists=True),
                     help="Mapping file (TOML) of a database SOURCE: query or table, columns, live rows."),
        click.option("--password-env", metavar="VAR", help="Database password from this environment variable."),
        click.option("--password-file", type=click.Path(dir_okay=False, exists=True),
                     help="Database password from the first line of this file."),
        click.option("--base-url", default="", metavar="URL",
                     help="Prefix for the article URLs a database mapping builds (https://www.example.com)."),
    )):
        wrapper = decorator(wrapper)
    return wrapper


def to_sources(sources: tuple[str, ...], *, preset: str | None, table_prefix: str, mapping: str | None,
               password_env: str | None, password_file: str | None, base_url: str) -> list[Any]:
    """Database URLs become DbSource objects; paths stay as they are."""
    from indexer.source_db import DbSource, dedecms_preset, is_db_url, load_mapping

    urls = [s for s in sources if is_db_url(s)]
    if not urls:
        if preset or mapping or password_env or password_file:
            raise click.UsageError("--preset, --mapping and --password-* apply to a database URL SOURCE "
                                   "(mysql+pymysql://user@host/db, postgresql+psycopg://..., sqlite:///file.db)")
        return list(sources)
    if bool(preset) == bool(mapping):
        raise click.UsageError("a database SOURCE needs exactly one of --preset dedecms or --mapping FILE")
    try:
        mapped = dedecms_preset(table_prefix) if preset else load_mapping(mapping or "")
    except NewsSearchError as exc:
        raise click.ClickException(str(exc)) from None
    if base_url:
        mapped.base_url = base_url.rstrip("/")
    password = _password(password_env, password_file)
    return [DbSource(s, mapped, password) if is_db_url(s) else s for s in sources]


def _password(env: str | None, file: str | None) -> str | None:
    if env and file:
        raise click.UsageError("give the password with --password-env or --password-file, not both")
    if env:
        if env not in os.environ:
            raise click.UsageError(f"--password-env {env}: the environment variable {env} is not set")
        return os.environ[env]
    if file:
        try:
            lines = Path(file).read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise click.UsageError(f"--password-file {file}: cannot read it ({exc})") from None
        return lines[0].strip() if lines else ""
    return None
