"""The Xapian side of the admin commands: `rebuild`, `update`, `delete`, `stats`, `check` on the
shards of NEWS_SEARCH_XAPIAN_SHARDS when NEWS_SEARCH_ENGINE=xapian, and `shard serve`.

indexer/cli.py and indexer/cli_admin.py call `shards()` first and hand over to the Xapian writer
(indexer/xapian_store.py, xapian_update.py) or to the functions here when it returns specs, so the
Whoosh paths stay as they were. The output lines are the Whoosh ones. This module imports no other
command module (cli_admin adds `shard` to the admin group).
"""
from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import click

ENV_ENGINE = "NEWS_SEARCH_ENGINE"


def shards() -> list[str] | None:
    """The shard specs when NEWS_SEARCH_ENGINE=xapian, else None (Whoosh: nothing imported)."""
    if (os.environ.get(ENV_ENGINE) or "whoosh").strip().lower() == "whoosh":
        return None
    try:
        from indexer.xapian_doc import configured_shards
    except ImportError:
        raise click.ClickException(
            f"{ENV_ENGINE}=xapian needs the Xapian Python bindings: pip install 'news-search[xapian]' "
            f"(xapian-bindings-binary==1.4.26)") from None
    return configured_shards()


def run_stats(specs: list[str], as_json: bool) -> None:
    from indexer.xapian_admin import shard_stats

    data = shard_stats(specs)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    click.echo("engine       xapian")
    click.echo(f"generation   {data['generation']}")
    click.echo(f"built at     {data['built_at']}")
    click.echo(f"documents    {data['documents']:,}")
    dr = data["date_range"]
    click.echo(f"date range   {dr['from']} .. {dr['to']}")
    click.echo(f"size         {data['size_bytes'] / 1e6:,.1f} MB (local shards)")
    for row in data["shards"]:
        state = f"{row['documents']:,} documents, {row['generation']}" if row["reachable"] else "UNREACHABLE"
        click.echo(f"shard        {row['spec']}: {state}")
    click.echo("channels")
    for row in data["channels"]:
        click.echo(f"  {row['value'] or '(none)':<12} {row['count']:>8,}")
    for note in data["notes"]:
        click.echo(f"note: {note}")


def run_check(specs: list[str], sample: int, as_json: bool) -> None:
    from indexer.xapian_admin import check_shards

    out = check_shards(specs, sample=sample)
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
    else:
        for warning in out["warnings"]:
            click.echo(f"warning: {warning}")
        for problem in out["problems"]:
            click.echo(f"problem: {problem}")
        status = "ok" if not out["problems"] else f"{len(out['problems'])} problem(s)"
        click.echo(f"{status}: {out['generation']}, {out['documents']:,} documents on {out['shards']} shard(s), "
                   f"{out['sample_found']}/{out['sampled']} sampled articles on their shard.")
    if out["problems"]:
        click.get_current_context().exit(1)


@click.group()
def shard() -> None:
    """Xapian shard servers (NEWS_SEARCH_ENGINE=xapian)."""


@shard.command("serve")
@click.option("--dir", "directory", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Database directory of this shard (created when missing).")
@click.option("--port", required=True, type=click.IntRange(1, 65535), help="TCP port to listen on.")
@click.option("--host", default=None, help="Address to listen on (default: every interface).")
@click.option("--changesets", type=click.IntRange(0), default=None,
              help="Keep this many changesets, so xapian-replicate replicas can catch up incrementally.")
def serve(directory: Path, port: int, host: str | None, changesets: int | None) -> None:
    """Serve one writable shard over TCP (xapian-tcpsrv), creating the database when missing.

    List it in NEWS_SEARCH_XAPIAN_SHARDS as HOST:PORT on the machines that search or write.
    """
    tcpsrv = shutil.which("xapian-tcpsrv")
    if tcpsrv is None:
        raise click.ClickException("xapian-tcpsrv not found on PATH: install the Debian/Ubuntu package "
                                   "xapian-tools (apt-get install xapian-tools)")
    try:
        import xapian
    except ImportError:
        raise click.ClickException("the Xapian Python bindings are missing: pip install 'news-search[xapian]'") from None
    try:
        directory.mkdir(parents=True, exist_ok=True)
        xapian.WritableDatabase(str(directory), xapian.DB_CREATE_OR_OPEN).close()
    except (OSError, xapian.Error) as exc:
        msg = exc.get_msg() if isinstance(exc, xapian.Error) else str(exc)
        raise click.ClickException(f"cannot create or open the shard database {directory}: {msg}") from None
    env = dict(os.environ)
    if changesets is not None:
        env["XAPIAN_MAX_CHANGESETS"] = str(changesets)  # read by Xapian's commit (replication)
    args = [tcpsrv, "--writable", "--port", str(port)] + (["--interface", host] if host else []) + [str(directory)]
    sys.stdout.flush()
    sys.stderr.flush()
    if os.getpgid(0) != os.getpid():
        # xapian-tcpsrv stops its connection handlers by signalling its whole process group on
        # SIGTERM; started from a script or a supervisor it must not take its parent down too.
        # (A shell job is already a group leader, so Ctrl-C keeps working there.)
        os.setpgid(0, 0)
    os.execve(tcpsrv, args, env)
