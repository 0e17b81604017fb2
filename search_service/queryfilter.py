"""What may be kept from a typed query: cleaning (control, bidi and escape characters) and the
personal-data / contact-lure filter. Pure functions, no storage, no Flask.

Why NFKC first: full-width forms (``zhangsan＠qq.com``, ``１３８…``) and other compatibility
characters would otherwise slip past patterns written for ASCII. Chinese numerals are read as
digits for the same reason (an ID number typed as 一一〇一…).
"""
from __future__ import annotations

import re
import unicodedata

MAX_KEPT_CHARS = 64
# ANSI/VT escape sequences (CSI ... final byte, OSC ... BEL/ST) and lone ESC.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b.?")
_CN_DIGITS = str.maketrans("〇零一二三四五六七八九两幺", "0012345678921")
# Seven or more digits with at most one separator between them: phone, ID, card and QQ numbers.
_LONG_NUMBER = re.compile(r"\d(?:[\s.\-_/·,]?\d){6,}")
_EMAIL = re.compile(r"[^\s@]+@[^\s@]+")
# Contact lures and classified-ad spam: an ad reaches readers the moment it is listed.
_LURES = re.compile(
    r"加\s*(?:微信|威信|薇信|v信|vx|wx|qq|扣扣|群|好友|我)|(?:微信|qq|vx|wx|v信|电报|telegram|whatsapp)\s*号"
    r"|(?<![a-z])(?:vx|wx|qq|tg)\s*[:：]?\s*[a-z0-9_-]*\d{3,}"
    r"|(?:代开|买|卖|出售|开具|办理)\s*发票|发票\s*代开|(?:代办|办)\s*(?:证件|假证|信用卡)|博彩|网赌|裸聊"
    r"|https?://|www\.|\.(?:com|cn|net|top|xyz)\b",
    re.IGNORECASE)


def _strip_char(ch: str) -> bool:
    # Cc: C0/C1 controls; Cf: bidi overrides, zero-width and other invisible format characters;
    # Zl/Zp: line and paragraph separators. Whitespace controls become spaces (collapsed later).
    return unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Co", "Cs")


def clean(text: str) -> str:
    """`text` without escape sequences, control, bidi and invisible characters; whitespace collapsed."""
    text = _ESCAPES.sub(" ", text)
    blanks = "\t\n\r\v\f"
    text = "".join(" " if ch in blanks else ch for ch in text if ch in blanks or not _strip_char(ch))
    return " ".join(text.split())


def compare_form(text: str) -> str:
    """NFKC, lower case, Chinese numerals as digits: the form the patterns are checked on."""
    return unicodedata.normalize("NFKC", text).lower().translate(_CN_DIGITS)


def personal(text: str) -> str | None:
    """Why `text` must not be kept ("number", "email", "contact"), or None."""
    form = compare_form(text)
    if _EMAIL.search(form):
        return "email"
    if _LONG_NUMBER.search(form):
        return "number"
    if _LURES.search(form):
        return "contact"
    return None


def keepable(text: str) -> bool:
    """A cleaned query that may be stored at all: not empty, not pasted text, no personal data."""
    return 0 < len(text) <= MAX_KEPT_CHARS and personal(text) is None
