"""Editors' tools on the web: related coverage (JSON) and the advanced-search help page.

Thin edge: search_service.related does the work; errors (unknown id, bad limit) are raised as
NotFound / BadParameter and turned into the API's error envelope by api.register_error_handlers.
"""
from __future__ import annotations

from flask import Blueprint, Flask, current_app, jsonify, render_template, request

from search_service.related import MAX_LIMIT, related_from_args

bp = Blueprint("editors", __name__, template_folder="templates")


@bp.get("/api/articles/<path:article_id>/related")
def api_related(article_id: str):
    index = current_app.extensions["news_search"]
    from search_service.raw_ids import article_id as decoded

    return jsonify(related_from_args(index, decoded(article_id), request.args.to_dict(flat=False)))


@bp.get("/help")
def help_page():
    return render_template("help.html", max_related=MAX_LIMIT)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
