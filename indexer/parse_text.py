"""Parse plain-text dumps of scraped news pages.

Such dumps are the visible text of a CMS page, one paragraph per line: an optional site blurb, a
breadcrumb ("当前位置:主页 > 新闻 > <title>"), the title, a metadata line ("来源:… 作者:… 时间:…"),
the article, then a footer ("标题:", "地址:", a disclaimer, "返回顶部"). Sites differ in labels,
order and separators, so everything below is pattern based and nothing is tied to one site.
"""
from __future__ import annotations

import re

from indexer.model import Article, Problem
from indexer.normalise import make_article, normalise_text, parse_date

# Traditional forms of the characters used in labels, folded one-to-one so that Big5/Taiwan pages
# match the same patterns. One-to-one keeps offsets identical: match on the folded line, slice the
# original. (Full conversion is the analysis stage's job; this only covers label characters.)
_LABEL_FOLD = str.maketrans(
    "當頁來時間編輯責發佈閱讀標題圖聲權頂關網點擊瀏覽處記鏈結連轉載請註報導攝號內詳薦熱門鐘約現頭",
    "当页来时间编辑责发布阅读标题图声权顶关网点击浏览处记链结连转载请注报导摄号内详荐热门钟约现头",
)


def fold_labels(line: str) -> str:
    return line.translate(_LABEL_FOLD)


# ----------------------------------------------------------------------------------- breadcrumb

_CRUMB_LABEL = re.compile(r"^(?:当前位置|您的位置|你的位置|您现在的位置|所在位置|位置|现在位置)\s*[:：]?\s*")
_HOME = {"首页", "主页", "网站首页", "本站首页", "home", "Home", "HOME", "返回首页"}
_HOME_START = re.compile(r"^(?:首页|主页|网站首页|本站首页|Home)\s*(?:>|»|›|＞|→|/)")
_STRONG_SEPARATORS = re.compile(r"\s*(?:>>|>|»|›|＞|→|->)\s*")
_SLASH_SEPARATOR = re.compile(r"\s+/\s+|/")
# Placeholders some breadcrumbs end with instead of the title.
_CRUMB_PLACEHOLDERS = {"正文", "内容", "详情", "文章", "详细内容", "正文内容", "阅读", "查看"}
# A trailing crumb longer than this is a title, not a channel name.
_MAX_CHANNEL_LEN = 12


def split_breadcrumb(line: str) -> list[str] | None:
    """Crumbs after the home element, or None when ``line`` is not a breadcrumb."""
    folded = fold_labels(line)
    labelled = _CRUMB_LABEL.match(folded)
    if not labelled and not _HOME_START.match(folded):
        return None
    rest = line[labelled.end():] if labelled else line
    separator = _STRONG_SEPARATORS if _STRONG_SEPARATORS.search(rest) else _SLASH_SEPARATOR
    crumbs = [c.strip() for c in separator.split(rest) if c.strip()]
    if not labelled and len(crumbs) < 2:
        return None
    while crumbs and fold_labels(crumbs[0]) in _HOME:
        crumbs.pop(0)
    return crumbs


def crumbs_to_channel(crumbs: list[str], title: str | None) -> str | None:
    """The last crumb that is neither the title nor a placeholder."""
    rest = [c for c in crumbs if fold_labels(c) not in _CRUMB_PLACEHOLDERS]
    if rest and (_matches_title(rest[-1], title) or len(rest[-1]) > _MAX_CHANNEL_LEN):
        rest.pop()
    return rest[-1] if rest else None


def _matches_title(crumb: str, line: str | None) -> bool:
    """Breadcrumbs often shorten long titles with an ellipsis, so a prefix match counts."""
    if not line:
        return False
    if crumb == line:
        return True
    stem = crumb.rstrip(".…").rstrip()
    return stem != crumb and len(stem) >= 4 and line.startswith(stem)


# ------------------------------------------------------------------------------------- metadata

_META_LABELS = (
    "责任编辑", "来源", "稿源", "出处", "作者", "记者", "编辑", "更新时间", "发布时间", "发表时间",
    "发稿时间", "时间", "日期", "发布日期", "阅读", "阅读量", "浏览", "浏览次数", "点击", "点击数", "字号",
)
_META_LABEL = re.compile(
    "(" + "|".join(sorted(map(re.escape, _META_LABELS), key=len, reverse=True)) + r")\s*[:：]\s*"
)
_DATE_IN_TEXT = re.compile(
    r"\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?(?:\s*\d{1,2}[:：时]\d{1,2}(?:[:：]\d{1,2})?)?"
)
# Under a date label the year may be missing ("时间：09-07 08:30"); context_year supplies it.
_LABELLED_DATE = re.compile(
    r"(?:\d{4}\s*[-/.年]\s*)?\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?(?:\s*\d{1,2}[:：时]\d{1,2}(?:[:：]\d{1,2})?)?"
)
_DATE_LABELS = ("发布时间", "发表时间", "发稿时间", "发布日期", "时间", "日期", "更新时间")
_SOURCE_LABELS = ("来源", "稿源", "出处")
_AUTHOR_LABELS = ("作者", "记者")
# Trailing decoration left on a value when labels are separated by bars or bullets.
_VALUE_TRIM = " \t|丨｜/·•-—_"
_MAX_META_LINE = 160


def parse_meta_line(line: str) -> dict[str, str] | None:
    """Labelled values of a metadata line, or None when the line is ordinary text.

    Handles labels in any order and glued together ("来源:X作者:Y更新时间:Z阅读:"). A line counts as
    metadata only when it starts with a label (optionally after a date) and is short.
    """
    if len(line) > _MAX_META_LINE:
        return None
    matches = list(_META_LABEL.finditer(fold_labels(line)))  # labels keyed in simplified form
    if not matches:
        return None
    head = line[: matches[0].start()].strip(_VALUE_TRIM)
    if head and not _DATE_IN_TEXT.fullmatch(head):
        return None
    values: dict[str, str] = {}
    if head:
        values["日期"] = head
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(line)
        label, value = match.group(1), line[match.end():end].strip(_VALUE_TRIM)
        if label not in _DATE_LABELS:
            # An unlabelled date glued to another value: "来源：新华社 2020-09-07 10:00".
            date = _DATE_IN_TEXT.search(value)
            if date:
                values.setdefault("日期", date.group(0))
                value = (value[: date.start()] + value[date.end():]).strip(_VALUE_TRIM)
        if value and label not in values:
            values[label] = value
    return values


def meta_fields(values: dict[str, str], context_year: int | None = None) -> dict[str, str]:
    """Map labelled values to Article field names (source, author, published)."""
    fields: dict[str, str] = {}
    for label in _SOURCE_LABELS:
        if values.get(label):
            fields["source"] = values[label]
            break
    for label in _AUTHOR_LABELS:
        if values.get(label):
            # "记者 张三 李四" or "作者：张三 摄" -> keep the names, drop a trailing role word.
            fields["author"] = re.sub(r"\s*(?:摄|攝|报道|報道|报导|報導|文|整理)$", "", values[label])
            break
    for label in _DATE_LABELS:
        raw = values.get(label)
        found = _LABELLED_DATE.search(raw) if raw else None
        if found:
            published = parse_date(found.group(0), context_year)
            if published:
                fields["published"] = published
                break
    return fields


# ------------------------------------------------------------------------------------ boilerplate

_READING_TIME = re.compile(
    r"^(?:本篇文章|本文共?|全文共?|全文约)\s*\d+\s*字.*分钟|^(?:阅读|读完)(?:时间|本文)?(?:需要|大约|约)\s*\d+\s*分钟"
)
_IMAGE_CREDIT = re.compile(r"^[（(【\[]?\s*(?:图片来源|图片来自|图片提供|图源|图片由|题图来源|题图|配图来源)")
_TITLE_LABELS = ("标题", "原标题", "文章标题")
_URL_LABELS = ("地址", "原文地址", "原文链接", "原文连结", "本文链接", "本文地址", "文章链接", "文章地址",
               "链接", "连结", "网址")
_FOOTER_LABEL = re.compile(r"^(?:" + "|".join(_TITLE_LABELS + _URL_LABELS + ("转载请注明",)) + r")\s*[:：]")
_FOOTER_START = re.compile(
    r"^(?:[（(【\[]?\s*责任编辑|免责声明|声明\s*[:：]|版权声明|返回顶部|回到顶部|版权所有|Copyright|©|\(c\)"
    r"|上一篇|下一篇|上一条|下一条|相关阅读|相关新闻|相关文章|相关推荐|推荐阅读|热门推荐|分享到|打印本页|关闭窗口)",
    re.IGNORECASE,
)
_URL = re.compile(r"https?://[^\s，。；;）)\"'<>]+")


def is_footer(line: str) -> bool:
    folded = fold_labels(line)
    return bool(_FOOTER_LABEL.match(folded) or _FOOTER_START.match(folded))


def is_noise(line: str, title: str | None) -> bool:
    """Lines inside the article region that are not article text."""
    return (
        line == title
        or bool(_READING_TIME.match(fold_labels(line)))
        or bool(_IMAGE_CREDIT.match(fold_labels(line)))
        or parse_meta_line(line) is not None
    )


def clean_body(lines: list[str], title: str | None) -> str:
    """Article paragraphs: everything before the first footer marker, minus noise lines."""
    kept: list[str] = []
    for line in lines:
        if is_footer(line):
            if kept:
                break
            continue  # share bars and "上一篇" links can sit above the article too
        if not is_noise(line, title):
            kept.append(line)
    return "\n".join(kept)


def footer_value(lines: list[str], labels: tuple[str, ...]) -> str | None:
    pattern = re.compile(r"^(?:" + "|".join(labels) + r")\s*[:：]\s*(.+)$")
    for line in lines:
        match = pattern.match(fold_labels(line))
        if match:
            return line[match.start(1):].strip()
    return None


# ------------------------------------------------------------------------------------------ parse

_URL_YEAR = re.compile(r"/((?:19|20)\d{2})(?:[/_-]?\d{2})")
# The first line at least this long (and not metadata) is taken as the title when nothing better exists.
_MIN_TITLE_LEN = 4
# Only the top of the page is searched for the breadcrumb and the metadata line.
_HEAD_LINES = 15


def parse_text(text: str, path: str) -> Article | Problem:
    """Parse one scraped page's text into an Article (or a Problem via make_article)."""
    lines = normalise_text(text).split("\n") if text.strip() else []
    if not lines:
        return Problem(path=path, reason="empty file")

    crumbs: list[str] | None = None
    start = 0
    for index, line in enumerate(lines[:_HEAD_LINES]):
        crumbs = split_breadcrumb(line)
        if crumbs is not None:
            start = index + 1  # everything before the breadcrumb is the site blurb
            break

    title, title_index = _find_title(lines, start, crumbs)
    body_start = title_index + 1 if title_index is not None else start

    fields: dict[str, object] = {"title": title}
    url_line = footer_value(lines[body_start:], _URL_LABELS)
    url_match = _URL.search(url_line or "")
    if url_match:
        fields["url"] = url_match.group(0)
    context_year = _year_from_url(fields.get("url"))

    # The metadata line may sit before the title line (some templates) or after it (most).
    for line in lines[start:body_start + _HEAD_LINES]:
        values = parse_meta_line(line)
        if values:
            for key, value in meta_fields(values, context_year).items():
                fields.setdefault(key, value)
    if crumbs:
        fields["channel"] = crumbs_to_channel(crumbs, title)
    fields["body"] = clean_body(lines[body_start:], title)
    return make_article(fields, path, context_year)


def _find_title(lines: list[str], start: int, crumbs: list[str] | None) -> tuple[str, int | None]:
    """Title text and the index of the line holding it (None when it only appears in the footer)."""
    following = next((i for i in range(start, len(lines)) if lines[i]), None)
    if crumbs and following is not None and _matches_title(crumbs[-1], lines[following]):
        return lines[following], following
    labelled = footer_value(lines[start:], _TITLE_LABELS)
    if labelled:
        # Past the title line (if the page repeats it) lies the article.
        index = next((i for i in range(start, len(lines)) if lines[i] == labelled), None)
        return labelled, index
    for index in range(start, len(lines)):
        line = lines[index]
        if is_footer(line):
            break
        if len(line) >= _MIN_TITLE_LEN and not is_noise(line, None) and split_breadcrumb(line) is None:
            return line, index
    return "", None


def _year_from_url(url: object) -> int | None:
    match = _URL_YEAR.search(url) if isinstance(url, str) else None
    return int(match.group(1)) if match else None
