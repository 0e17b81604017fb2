"""The reader-facing search page (Simplified Chinese), the Atom feed per query and the OpenSearch
description. A thin edge: validation is params.parse_search_params, results come from
core.search (the same call as /api/search), links and chart geometry from pages_view.

Everything works without JavaScript; static/suggest.js only adds suggestions while typing.
The CSP forbids inline script and style, so templates use classes and SVG attributes only.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Flask, Response, current_app, redirect, render_template, request, url_for

from indexer.analysis import words
from search_service import core, feeds, httpcache, pages_view
from search_service.cost import check_query_cost
from search_service.errors import BadParameter
from search_service.params import SearchParams, parse_search_params
from search_service.queryfilter import clean
from search_service.relax import FILLER_WORDS
from search_service.services import search_index, services

bp = Blueprint("pages", __name__)

FEED_PER_PAGE = 20
FACET_SHOWN = 8          # facet values shown before the "更多" disclosure
RELATED_LIMIT = 8
HOT_LIMIT = 10
# Reader-facing names of the parameters, for the 400 page.
PARAM_LABELS = {
    "q": "搜索词", "page": "页码", "per_page": "每页条数", "from": "开始日期", "to": "结束日期",
    "sort": "排序方式", "channel": "频道", "correct": "拼写纠正", "author": "作者", "source": "来源", "collapse": "合并转载",
    "facet_interval": "时间分布间隔",
}
TIPS = (
    "检查有没有错别字，或换一个说法试试。",
    "减少关键词，或用更常见的词。",
    "去掉频道、日期等筛选条件。",
    "用英文双引号精确匹配，例如 \"小程序\"；用 OR 表示任选其一。",
)


def _query_log():
    return services().query_log


def _hot(limit: int = HOT_LIMIT) -> list[dict[str, Any]]:
    from search_service.suggest_api import hot_queries

    return hot_queries(7, limit) if _query_log() is not None else []


def _related(q: str) -> list[str]:
    """Other public queries sharing a word with `q` (pinned entries are not "related")."""
    if _query_log() is None:
        return []
    from search_service.publiclists import related
    from search_service.suggest_api import FREQUENT_DAYS, MAX_CANDIDATES, public_queries

    return related(q, words, public_queries(FREQUENT_DAYS, MAX_CANDIDATES, pinned=False), RELATED_LIMIT)


def _raw_q() -> str:
    return (request.args.get("q") or "")[:200]


def bad_parameter_page(exc: BadParameter, q: str) -> tuple[str, int]:
    label = PARAM_LABELS.get(exc.param, exc.param)
    return render_template("error.html", status=400, q=q, title="搜索条件有误",
                           message=f"“{label}”（参数 {exc.param}）的值无法使用，请修改后重新搜索。",
                           detail=exc.message), 400


def html_error(status: int, message: str) -> tuple[str, int]:
    """Page for errors outside /api/ (registered for api._html_error)."""
    titles = {404: "页面不存在", 405: "不支持的请求方式", 400: "请求有误", 503: "搜索服务暂不可用"}
    text = {400: "请求的参数有误，请检查后重试。", 404: "找不到这个页面，请检查地址，或直接搜索。",
            503: "索引暂时无法打开，请稍后再试。"}.get(status, "请求没有完成，请稍后再试。")
    detail = "" if status == 404 else message  # the API's 404 text speaks to developers, not readers
    return render_template("error.html", status=status, q=_raw_q(), title=titles.get(status, "出错了"),
                           message=text, detail=detail), status


def _fmt_ms(ms: float) -> str:
    return f"{ms:.1f}" if ms < 100 else f"{ms:.0f}"


def results_context(params: SearchParams, interval_given: str | None, result: dict[str, Any]) -> dict[str, Any]:
    """Everything search.html needs, as plain data."""
    args = pages_view.base_args(result["query"], interval_given)
    facet_groups = pages_view.facet_groups(result["facets"], args)
    for group in facet_groups:
        items = group["items"]
        group["shown"], group["more"] = items[:FACET_SHOWN], items[FACET_SHOWN:]
        group["more_open"] = any(i["selected"] for i in group["more"])
    suggestion = result.get("suggestion")
    if suggestion:
        suggestion = dict(suggestion, href=pages_view.link("/search", args, q=suggestion["q"], correct=None))
    relaxed = None
    if result.get("relaxed"):
        dropped = result["relaxed"]["dropped"]
        relaxed = {"fillers": [w for w in dropped if w in FILLER_WORDS],
                   "words": [w for w in dropped if w not in FILLER_WORDS],
                   "strict_href": pages_view.link("/search", args, relax="false")}
    corrected = result.get("corrected")
    if corrected:  # 已显示“…”的结果 · 仍然搜索“…” (the typed query, exactly as typed)
        corrected = dict(corrected, original_href=pages_view.link("/search", args, correct="false"))
    # Copies: the core caches its results, and the API must not see the page's extra keys.
    hits = [dict(hit, href=hit.get("url") or url_for("api.api_article", article_id=hit["id"]),
                 date=(hit.get("published") or "")[:10]) for hit in result["hits"]]
    chart = None
    if result.get("histogram") and result["total"]:
        interval, histogram = pages_view.chart_data(result["histogram"], params.facet_interval or "month")
        chart = pages_view.timeline(histogram, interval, args)
    return {
        # The query is shown without control, bidi or escape characters.
        "q": clean(params.q), "result": result, "hits": hits, "total": result["total"],
        "took": _fmt_ms(result["took_ms"]), "page": params.page, "pages": result["pages"],
        "first_number": (params.page - 1) * params.per_page + 1,
        "facet_groups": facet_groups, "filters": pages_view.active_filters(args),
        "sorts": pages_view.sort_links(args, params.sort),
        "pagination": pages_view.pagination(args, params.page, result["pages"], params.per_page),
        "suggestion": suggestion, "relaxed": relaxed, "corrected": corrected, "chart": chart, "tips": TIPS,
        "related": _related(params.q) if hits else [],
        "hot": [] if hits else _hot(),
        "first_page": pages_view.link("/search", args),
        "feed_href": pages_view.link("/search.atom", {"q": params.q, "channel": args["channel"]}),
    }


@bp.get("/")
def start_page():
    if request.args.get("q", "").strip():  # old links and the help page's examples
        return redirect(url_for("pages.search_page", **request.args.to_dict(flat=False)))
    return render_template("index.html", q="", hot=_hot())


@bp.get("/search")
def search_page():
    raw = request.args.to_dict(flat=False)
    try:
        params = parse_search_params(raw)
        check_query_cost(params)
    except BadParameter as exc:
        if exc.param == "q" and exc.code == "missing_parameter":
            return redirect(url_for("pages.start_page"))  # an empty search box: back to the start
        return bad_parameter_page(exc, _raw_q())
    interval_given = params.facet_interval
    if not params.facet_interval:  # the timeline needs a histogram: by month, rolled up to years when long
        params.facet_interval = "month"
    result = core.search(search_index(), params, time_limit_ms=current_app.config.get("SEARCH_TIME_LIMIT_MS"))
    httpcache.note_result(result)
    services().searched(params, result)  # query log (only when QUERY_LOG is on)
    return render_template("search.html", **results_context(params, interval_given, result))


def public_root() -> str:
    """Base of absolute links: PUBLIC_BASE_URL (NEWS_SEARCH_PUBLIC_BASE_URL) when set, so a forged
    Host header cannot put another site into the feed and OpenSearch links; else the request's."""
    configured = current_app.config.get("PUBLIC_BASE_URL")
    return configured.rstrip("/") + "/" if configured else request.url_root


@bp.get("/search.atom")
def search_feed():
    """Newest results of a query as Atom. Feed readers poll, so these are not logged as searches."""
    raw = request.args.to_dict(flat=False)
    raw["sort"] = ["newest"]
    raw.pop("page", None)
    raw.setdefault("per_page", [str(FEED_PER_PAGE)])
    params = parse_search_params(raw)
    check_query_cost(params)
    result = core.search(search_index(), params, time_limit_ms=current_app.config.get("SEARCH_TIME_LIMIT_MS"))
    httpcache.note_result(result)
    html_url = public_root().rstrip("/") + pages_view.link(
        "/search", {"q": params.q, "channel": params.channel, "sort": "newest"})
    # Re-encoded from the parsed args: the raw query string may hold unescaped UTF-8 bytes.
    self_url = request.base_url + ("?" + urlencode(list(request.args.items(multi=True))) if request.args else "")
    if current_app.config.get("PUBLIC_BASE_URL"):
        self_url = public_root().rstrip("/") + self_url[len(request.host_url.rstrip("/")):]
    body = feeds.atom_feed(result, public_root(), self_url, html_url)
    return Response(body, mimetype="application/atom+xml")


@bp.get("/opensearch.xml")
def opensearch():
    return Response(feeds.opensearch_description(public_root()),
                    mimetype="application/opensearchdescription+xml")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.trim_blocks = True  # tidy HTML: block tags leave no blank lines behind
    app.jinja_env.lstrip_blocks = True
