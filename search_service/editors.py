"""Editors' tools on the web: related coverage (JSON) and the advanced-search help page (its
examples are chosen from the served index by help_examples).

Thin edge: search_service.related does the work; errors (unknown id, bad limit) are raised as
NotFound / BadParameter and turned into the API's error envelope by api.register_error_handlers.
"""
from __future__ import annotations

from flask import Blueprint, Flask, jsonify, render_template, request

from search_service.related import MAX_LIMIT, related_from_args
from search_service.services import search_index

bp = Blueprint("editors", __name__, template_folder="templates")


@bp.get("/api/articles/<path:article_id>/related")
def api_related(article_id: str):
    return jsonify(related_from_args(search_index(), article_id, request.args.to_dict(flat=False)))


@bp.get("/help")
def help_page():
    from search_service.help_examples import examples

    return render_template("help.html", max_related=MAX_LIMIT, ex=examples(search_index()))


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
