"""Helpers of the CMS-database tests: the MariaDB server of .ci/services/mariadb.sh and DedeCMS fixtures.

The server is found through NEWS_SEARCH_TEST_MYSQL_URL (mysql+pymysql://user:pass@host:port/). Without
it the tests skip, except under CI=true, where a missing or dead server fails them.
"""
from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from shared_data import REPO_ROOT, shared_dir, shared_file

sys.path.insert(0, str(REPO_ROOT / "bench"))
import dedecms  # noqa: E402  (bench/dedecms.py: schema and loader shared with the benchmark)
from dedecms import without_password  # noqa: E402

MYSQL_ENV = "NEWS_SEARCH_TEST_MYSQL_URL"
PASSWORD_VAR = "NS_TEST_DB_PASSWORD"  # how the tests hand the password to news-search
SEED_ID = 132509  # the seed page is /hqxw/132509.html on a DedeCMS site


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: .ci/services/mariadb.sh must provide it)")
    pytest.skip(reason)


def server_url() -> Any:
    """The server's URL (sqlalchemy URL object, with the password); skips/fails when unusable."""
    raw = os.environ.get(MYSQL_ENV)
    if not raw:
        _unavailable(f"{MYSQL_ENV} is not set: no MariaDB server for the CMS tests")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(raw)
    try:
        with create_engine(url).connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means "no usable server"
        _unavailable(f"MariaDB at {url.render_as_string(hide_password=True)} does not answer: {exc}")
    return url


@contextmanager
def database(records: list[tuple[int, dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    """A fresh DedeCMS database holding `records`; yields the source URL (no password) and engine."""
    from sqlalchemy import create_engine, text

    url = server_url()
    name = f"ns_test_{uuid.uuid4().hex[:10]}"
    engine = create_engine(url)
    dedecms.create_database(engine, name)
    dedecms.insert_articles(engine, name, records)
    db_engine = create_engine(url.set(database=name))
    env = {PASSWORD_VAR: url.password or ""}
    try:
        yield {"source": without_password(url.set(database=name)),
               "engine": db_engine, "env": env, "password": url.password, "name": name, "server": url}
    finally:
        db_engine.dispose()
        with engine.begin() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        engine.dispose()


def seed_record() -> dict[str, Any] | None:
    """The seed page's article (../shared/seeds), as the DedeCMS site would hold it."""
    path = shared_file("seeds", "000_33ad1d7c1f9b7493.txt")
    if path is None:
        return None
    from indexer.parse_text import parse_text

    article = parse_text(path.read_text(encoding="utf-8"), str(path))
    return {"title": article.title, "body": article.body, "channel": "新闻", "published": article.published,
            "author": article.author, "source": article.source, "tags": []}


def corpus_sample(n: int) -> list[dict[str, Any]]:
    """Every (19,547 / n)-th article of the real corpus, or [] when ../shared is not there."""
    if shared_dir() is None or shared_file("corpus", "news.jsonl") is None:
        return []
    records = dedecms.read_jsonl(shared_file("corpus", "news.jsonl"))
    step = max(1, len(records) // n)
    return records[::step][:n]


def demo_rows(start: int = 1) -> list[tuple[int, dict[str, Any]]]:
    from lifecycle_util import demo_records

    return list(enumerate(demo_records(), start=start))


def db_args(db: dict[str, Any]) -> list[str]:
    return [db["source"], "--preset", "dedecms", "--password-env", PASSWORD_VAR]

