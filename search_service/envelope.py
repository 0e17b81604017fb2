"""The JSON error envelope, shared by the API's error handlers and the request gates (cost.py)."""
from __future__ import annotations

from typing import Any

from flask import Response, jsonify


def error_response(status: int, code: str, message: str, **extra: Any) -> Response:
    body = {"ok": False, "error": {"status": status, "code": code, "message": message, **extra}}
    resp = jsonify(body)
    resp.status_code = status
    return resp
