"""Parse saved CMS article pages (HTML).

The article text comes from trafilatura, which is good at finding the main content block. Metadata
comes first from the page's own meta tags (read with lxml), because Chinese CMSs fill those more
reliably than trafilatura's heuristics recognise them; trafilatura's metadata and the visible
"来源：… 作者：… 时间：…" line fill what is still missing.
"""
from __future__ import annotations

import logging
import re
from typing import Any

import lxml.etree
import lxml.html
import trafilatura

from indexer.model import Article, Problem
from indexer.normalise import make_article, normalise_line, normalise_text, parse_date
from indexer.parse_text import (
    clean_body,
    crumbs_to_channel,
    meta_fields,
    parse_meta_line,
    split_breadcrumb,
)

# trafilatura reports every page it finds too short at WARNING level; our Problems say enough.
logging.getLogger("trafilatura").setLevel(logging.ERROR)

_TITLE_KEYS = ("og:title", "twitter:title", "title", "headline", "dc.title")
_DATE_KEYS = (
    "article:published_time", "og:article:published_time", "og:published_time", "pubdate",
    "publishdate", "publish_date", "publishtime", "datepublished", "dc.date.issued", "dc.date",
    "sailthru.date", "date", "article:modified_time",
)
_SECTION_KEYS = ("article:section", "og:article:section", "section", "category", "lanmu", "column")
_AUTHOR_KEYS = ("author", "article:author", "og:article:author", "dc.creator", "byline")
_SOURCE_KEYS = ("og:site_name", "source", "mediaid", "site_name", "sitename", "publisher", "dc.publisher")
_TAG_KEYS = ("keywords", "news_keywords", "article:tag", "og:article:tag")
_BREADCRUMB_XPATH = (
    "//*[contains(@class,'breadcrumb') or contains(@class,'crumb') or contains(@id,'breadcrumb')"
    " or contains(@class,'location') or contains(@class,'position') or contains(@id,'position')]"
)
# <title> suffixes such as "_财经频道_示例网" or " - 示例网".
_TITLE_SUFFIX = re.compile(r"\s*(?:_|\s\|\s|｜|\s[-–—]\s).*$")
_TAG_SEPARATORS = re.compile(r"[,，;；、|]+")
_HTML_START = re.compile(r"\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|meta|title)\b",
                         re.IGNORECASE | re.DOTALL)


def looks_like_html(text: str) -> bool:
    """True when the text starts like an HTML document (used to sniff .txt files)."""
    return bool(_HTML_START.match(text[:4096].lstrip("\ufeff")))


def parse_html(text: str, path: str) -> Article | Problem:
    """Parse one HTML article page; malformed pages give a best-effort Article or a Problem."""
    if not text.strip():
        return Problem(path=path, reason="empty file")
    try:
        # Parse from UTF-8 bytes so that a leftover <?xml encoding=...?> or <meta charset> cannot
        # make lxml re-decode text that decode_bytes already decoded.
        parser = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True)
        tree = lxml.html.document_fromstring(text.encode("utf-8", "surrogatepass"), parser=parser)
    except (lxml.etree.LxmlError, ValueError) as exc:
        return Problem(path=path, reason=f"unparseable HTML ({exc})")
    meta = _read_meta(tree)
    document = _extract(text)

    title = _title(tree, meta, document)
    fields: dict[str, Any] = {
        "title": title,
        "url": _first(meta, ("og:url",)) or _canonical_link(tree) or getattr(document, "url", None),
        "author": _first(meta, _AUTHOR_KEYS, reject_urls=True) or getattr(document, "author", None),
        "source": _first(meta, _SOURCE_KEYS) or getattr(document, "sitename", None),
        "tags": _tags(meta),
    }
    fields["published"] = _published(tree, meta)
    fields["channel"] = _first(meta, _SECTION_KEYS) or _breadcrumb_channel(tree, title) or _category(document)

    _fill_from_meta_line(fields, _info_lines(tree))
    if not fields["published"]:
        # trafilatura's date is a day-level guess from anywhere in the page: last resort only.
        fields["published"] = parse_date(getattr(document, "date", None) or "")
    body = getattr(document, "text", None) or ""
    lines = normalise_text(body).split("\n") if body else _paragraphs(tree)
    if lines and lines[0] == title:
        lines = lines[1:]  # trafilatura repeats the headline as the first paragraph
    # A line that is exactly a link's text is navigation or a "related articles" list, not prose.
    link_texts = {normalise_line(a.text_content()) for a in tree.iter("a")}
    lines = [line for line in lines if line not in link_texts]
    fields["body"] = clean_body(lines, title)
    return make_article(fields, path)


def _extract(text: str) -> Any:
    try:
        return trafilatura.bare_extraction(
            text, with_metadata=True, include_comments=False, include_tables=True, favor_recall=True
        )
    except Exception:  # noqa: BLE001 - a third-party extractor on hostile input; fall back to lxml
        return None


def _read_meta(tree: Any) -> dict[str, list[str]]:
    """All <meta> values keyed by lower-cased name/property/itemprop, in document order."""
    meta: dict[str, list[str]] = {}
    for element in tree.iter("meta"):
        key = element.get("property") or element.get("name") or element.get("itemprop")
        content = element.get("content")
        if key and content and content.strip():
            meta.setdefault(key.strip().lower(), []).append(content.strip())
    # <meta itemprop="datePublished"> and <time itemprop=...> are common in newer CMSs.
    for element in tree.xpath("//*[@itemprop='datePublished' and @datetime]"):
        meta.setdefault("datepublished", []).append(element.get("datetime"))
    return meta


def _first(meta: dict[str, list[str]], keys: tuple[str, ...], reject_urls: bool = False) -> str | None:
    for key in keys:
        for value in meta.get(key, []):
            value = normalise_line(value)
            if value and not (reject_urls and value.startswith(("http://", "https://"))):
                return value
    return None


def _title(tree: Any, meta: dict[str, list[str]], document: Any) -> str:
    site = _first(meta, ("og:site_name",))
    candidates = [_first(meta, _TITLE_KEYS)]
    candidates += [normalise_line(h.text_content()) for h in tree.iter("h1")][:1]
    head_title = tree.find(".//title")
    if head_title is not None and head_title.text:
        candidates.append(_strip_title_suffix(normalise_line(head_title.text_content())))
    candidates.append(getattr(document, "title", None))
    for candidate in candidates:
        if candidate:
            if site and candidate.endswith(site) and candidate != site:
                candidate = _strip_title_suffix(candidate)
            return candidate
    return ""


def _strip_title_suffix(title: str) -> str:
    stripped = _TITLE_SUFFIX.sub("", title)
    return stripped if len(stripped) >= 4 else title


def _canonical_link(tree: Any) -> str | None:
    for link in tree.iter("link"):
        if (link.get("rel") or "").lower() == "canonical" and link.get("href", "").startswith("http"):
            return link.get("href").strip()
    return None


def _published(tree: Any, meta: dict[str, list[str]]) -> str | None:
    raw = [value for key in _DATE_KEYS for value in meta.get(key, [])]
    raw += [t.get("datetime") for t in tree.iter("time") if t.get("datetime")]
    for value in raw:
        parsed = parse_date(value) if value else None
        if parsed:
            return parsed
    return None


def _breadcrumb_channel(tree: Any, title: str) -> str | None:
    for element in tree.xpath(_BREADCRUMB_XPATH):
        line = normalise_line(element.text_content())
        crumbs = split_breadcrumb(line)
        if crumbs is None:
            # Link-only breadcrumbs have no separators in their text; use the link texts.
            crumbs = [normalise_line(a.text_content()) for a in element.iter("a")]
            crumbs = [c for c in crumbs if c and c not in ("首页", "主页", "网站首页")]
        channel = crumbs_to_channel(crumbs, title) if crumbs else None
        if channel:
            return channel
    return None


def _category(document: Any) -> str | None:
    categories = getattr(document, "categories", None) or []
    return (normalise_line(categories[0]) or None) if categories else None


def _tags(meta: dict[str, list[str]]) -> list[str]:
    tags: list[str] = []
    for key in _TAG_KEYS:
        for value in meta.get(key, []):
            parts = _TAG_SEPARATORS.split(value)
            if len(parts) == 1 and re.search(r"[\u4e00-\u9fff]", value):
                parts = value.split()  # Chinese CMSs often separate keywords with spaces
            tags += [p.strip() for p in parts if p.strip()]
    return tags


def _info_lines(tree: Any) -> list[str]:
    """Short block texts, outermost first: candidates for the visible "来源：… 时间：…" line."""
    body = tree.find("body")
    if body is None:
        return []
    for junk in body.xpath(".//script | .//style | .//noscript"):
        junk.drop_tree()
    lines: list[str] = []
    for element in body.iter("div", "p", "span", "li", "td", "section", "header", "em", "small"):
        # itertext with spaces: spans like <span>来源：新华社</span><span>2021-05-03</span> must not glue.
        text = normalise_line(" ".join(element.itertext()))
        if text and len(text) <= 160:
            lines.append(text)
    return lines


def _fill_from_meta_line(fields: dict[str, Any], lines: list[str]) -> None:
    """Take source/author/date from the page's visible "来源：… 作者：…" line when meta tags lack them."""
    if fields.get("source") and fields.get("author") and fields.get("published"):
        return
    for line in lines:
        values = parse_meta_line(line)
        found = meta_fields(values) if values else {}
        for key, value in found.items():
            if not fields.get(key):
                fields[key] = value
        if found:
            return


def _paragraphs(tree: Any) -> list[str]:
    """Fallback body when trafilatura finds nothing: the page's <p> texts."""
    texts = (normalise_line(p.text_content()) for p in tree.iter("p"))
    return [t for t in texts if t]


# Elements that end a paragraph when a CMS body fragment is turned into text.
_BLOCK_TAGS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
                         "section", "article", "table", "ul", "ol", "pre", "hr", "dd", "dt"})


def fragment_to_text(html: str) -> str:
    """The text of an article body stored as an HTML fragment (a CMS database column).

    Unlike parse_html there is no page around it to strip, so no extractor runs: every block
    element becomes a paragraph break and everything else is kept as it is (entities resolved).
    """
    if "<" not in html and "&" not in html:
        return normalise_text(html)
    try:
        root = lxml.html.fragment_fromstring(html.encode("utf-8", "surrogatepass"), create_parent="div",
                                             parser=lxml.html.HTMLParser(encoding="utf-8", remove_comments=True))
    except (lxml.etree.LxmlError, ValueError):
        return normalise_text(re.sub(r"<[^>]*>", " ", html))
    for junk in root.xpath(".//script | .//style | .//noscript"):
        junk.drop_tree()
    for element in root.iter():
        if isinstance(element.tag, str) and element.tag.lower() in _BLOCK_TAGS:
            element.tail = "\n" + (element.tail or "")
            if element.tag.lower() != "br":
                element.text = "\n" + (element.text or "")
    return normalise_text(root.text_content())
