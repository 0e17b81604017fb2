"""`news-search serve` options of the site integration (issue 16): trusted proxies, CORS origins
and the access log. Kept apart from cli_serve.py's own options (workers, connection limits) so
each concern reads on its own; ``site_options`` adds the options, ``site_config`` turns the
values into create_app config.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from search_service.proxy import parse_networks


def _networks(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    try:
        parse_networks(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx=ctx, param=param) from None
    return value


OPTIONS = (
    click.option("--trusted-proxies", "site_trusted_proxies", envvar="NEWS_SEARCH_TRUSTED_PROXIES",
                 show_envvar=True, callback=_networks, metavar="ADDRS",
                 help="Reverse proxies whose X-Forwarded-For is believed (addresses or networks, "
                      "comma-separated, e.g. 127.0.0.1); none by default."),
    click.option("--cors-origins", "site_cors_origins", envvar="NEWS_SEARCH_CORS_ORIGINS", show_envvar=True,
                 metavar="ORIGINS", help="Origins whose pages may call /api/ from the browser (comma-separated)."),
    click.option("--access-log", "site_access_log", envvar="NEWS_SEARCH_ACCESS_LOG", show_envvar=True,
                 default="off", show_default=True, metavar="PATH|-|off",
                 help="JSON-lines access log: - for stderr (e.g. into journald), a file to append to, or off."),
    click.option("--access-log-queries/--no-access-log-queries", "site_access_log_queries",
                 envvar="NEWS_SEARCH_ACCESS_LOG_QUERIES", default=False,
                 help="Also log the search text (off by default)."),
    click.option("--access-log-clients/--no-access-log-clients", "site_access_log_clients",
                 envvar="NEWS_SEARCH_ACCESS_LOG_CLIENTS", default=False,
                 help="Also log client addresses (off by default)."),
)


def site_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(OPTIONS):
        func = option(func)
    return func


def site_config(values: dict[str, Any]) -> dict[str, Any]:
    """The serve command's site_* keyword arguments -> create_app config (unset ones left to env)."""
    names = {"site_trusted_proxies": "TRUSTED_PROXIES", "site_cors_origins": "CORS_ORIGINS",
             "site_access_log": "ACCESS_LOG", "site_access_log_queries": "ACCESS_LOG_QUERIES",
             "site_access_log_clients": "ACCESS_LOG_CLIENTS"}
    return {names[k]: v for k, v in values.items() if k in names and v is not None}


def waitress_options(app: Any) -> dict[str, Any]:
    """waitress drops X-Forwarded-* itself unless told otherwise; with TRUSTED_PROXIES set the
    app's own middleware (proxy.py) decides which peers to believe, so waitress must pass them on."""
    return {"clear_untrusted_proxy_headers": False} if app.config.get("TRUSTED_PROXIES") else {}
