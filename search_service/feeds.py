"""Atom feed of a query's newest results and the OpenSearch description, built with ElementTree so
every piece of text is escaped by the serializer and the output is always well-formed XML.
"""
from __future__ import annotations

import re

import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote, urljoin

ATOM_NS = "http://www.w3.org/2005/Atom"
OPENSEARCH_NS = "http://a9.com/-/spec/opensearch/1.1/"
# `published` is stored as local time without an offset; the archives are Chinese news sites,
# so the feed states China Standard Time.
LOCAL_OFFSET = "+08:00"
SITE_NAME = "新闻搜索"


def _ts(published: str | None) -> str | None:
    if not published:
        return None
    try:
        parsed = datetime.fromisoformat(published)
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        return parsed.isoformat()
    return parsed.replace(microsecond=0).isoformat() + LOCAL_OFFSET


# Characters XML 1.0 cannot carry at all, even escaped (C0 controls but tab/LF/CR, surrogates,
# U+FFFE/U+FFFF): ElementTree would write them and the feed would not parse.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, tag, {k: xml_safe(v) for k, v in attrs.items()})
    if text is not None:
        el.text = xml_safe(text)
    return el


def atom_feed(result: dict[str, Any], base_url: str, self_url: str, html_url: str) -> bytes:
    """Atom 1.0 document for a search result (hits already newest first); links are absolute."""
    q = result["query"]["q"]
    feed = ET.Element("feed", {"xmlns": ATOM_NS, "xml:lang": "zh-CN"})
    _sub(feed, "id", self_url)
    _sub(feed, "title", f"{SITE_NAME}：{q}")
    _sub(feed, "subtitle", f"包含“{q}”的最新报道，共 {result['total']} 条")
    _sub(feed, "link", rel="self", type="application/atom+xml", href=self_url)
    _sub(feed, "link", rel="alternate", type="text/html", href=html_url)
    _sub(feed, "generator", "news-search")
    stamps = [s for s in (_ts(h.get("published")) for h in result["hits"]) if s]
    _sub(feed, "updated", max(stamps) if stamps else datetime.now(timezone.utc).replace(microsecond=0).isoformat())
    for hit in result["hits"]:
        entry = _sub(feed, "entry")
        article_api = urljoin(base_url, "api/articles/" + quote(str(hit["id"]), safe=""))
        url = hit.get("url")
        href = urljoin(base_url, url) if url else article_api
        _sub(entry, "id", href)
        _sub(entry, "title", hit.get("title") or "", type="text")
        _sub(entry, "link", rel="alternate", type="text/html", href=href)
        stamp = _ts(hit.get("published"))
        if stamp:
            _sub(entry, "published", stamp)
        _sub(entry, "updated", stamp or datetime.now(timezone.utc).replace(microsecond=0).isoformat())
        name = " · ".join(x for x in (hit.get("source"), hit.get("author")) if x)
        if name:
            _sub(_sub(entry, "author"), "name", name)
        if hit.get("channel"):
            _sub(entry, "category", term=hit["channel"])
        # The snippet's <mark> highlights travel as escaped HTML (type="html").
        _sub(entry, "summary", hit.get("snippet_html") or "", type="html")
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def opensearch_description(base_url: str) -> bytes:
    """Lets browsers add the site search (and ask /api/suggest for suggestions)."""
    root = ET.Element("OpenSearchDescription", {"xmlns": OPENSEARCH_NS})
    _sub(root, "ShortName", SITE_NAME)
    _sub(root, "Description", "搜索新闻报道的标题和正文")
    _sub(root, "InputEncoding", "UTF-8")
    _sub(root, "OutputEncoding", "UTF-8")
    _sub(root, "Language", "zh-CN")
    _sub(root, "Url", type="text/html", method="get", template=urljoin(base_url, "search?q={searchTerms}"))
    _sub(root, "Url", type="application/atom+xml", template=urljoin(base_url, "search.atom?q={searchTerms}"))
    _sub(root, "Url", type="application/x-suggestions+json",
         template=urljoin(base_url, "api/suggest?format=opensearch&q={searchTerms}"))
    _sub(root, "Url", type="application/opensearchdescription+xml", rel="self",
         template=urljoin(base_url, "opensearch.xml"))
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)
