"""Where the shared test data lives (third-party corpora and seeds that never enter the repo).

``$NEWS_SEARCH_SHARED`` wins; otherwise the ``shared`` folder next to the repository checkout.
"""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def shared_dir() -> Path | None:
    """The shared data directory, or None when it is not available on this machine."""
    configured = os.environ.get("NEWS_SEARCH_SHARED")
    candidate = Path(configured) if configured else REPO_ROOT.parent / "shared"
    return candidate if candidate.is_dir() else None


def shared_file(*parts: str) -> Path | None:
    """A file inside the shared directory, or None when the directory or the file is missing."""
    base = shared_dir()
    if base is None:
        return None
    path = base.joinpath(*parts)
    return path if path.is_file() else None
