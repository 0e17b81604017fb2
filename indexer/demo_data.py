"""The bundled demo articles (written for this project; see indexer/demo/README.md)."""
from __future__ import annotations

from pathlib import Path

DEMO_DIR = Path(__file__).parent / "demo"


def demo_sources() -> list[str]:
    return [str(DEMO_DIR / "articles.jsonl"), str(DEMO_DIR / "pages"), str(DEMO_DIR / "scraped")]


def demo_userdict() -> Path:
    return DEMO_DIR / "userdict.txt"
