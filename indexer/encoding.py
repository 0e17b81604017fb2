"""Turn raw file bytes into text without producing mojibake.

Chinese archives come as UTF-8 (with or without BOM), UTF-16 with BOM, GB2312/GBK/GB18030 or Big5.
Statistical detectors are unreliable on short texts (a two-character GBK title is happily reported as
Big5 or CP949), so the decision here is made by strict decoding plus a plausibility score:

* a BOM settles the question;
* strict UTF-8 is tried first, because legacy CJK bytes practically never form valid UTF-8;
* otherwise every legacy candidate that decodes strictly is scored by how much of its non-ASCII text is
  common Chinese characters and punctuation, and the best one wins;
* charset-normalizer only breaks near-ties between those candidates. Its unrestricted guesses were
  too often wrong (it reads "cafe" in CP1252 as UTF-16), so other legacy encodings are refused with a
  clear reason rather than risking mojibake.

Everything that cannot be decoded convincingly raises ``ValueError`` with a human-readable reason.
"""
from __future__ import annotations

import codecs
import unicodedata
from functools import lru_cache

import charset_normalizer

# Candidates after UTF-8, in tie-break order (mainland archives are the common case).
_LEGACY_CANDIDATES: tuple[str, ...] = ("gb18030", "big5", "cp950", "big5hkscs")

# How many leading bytes to inspect for binary content; enough to catch images, archives, PDFs.
_SNIFF_BYTES = 64 * 1024
# Control bytes that legitimately occur in text files.
_TEXT_CONTROLS = frozenset(b"\t\n\r\f\v\x1b")
# A text file with more than this share of other control bytes is treated as binary.
_MAX_CONTROL_SHARE = 0.02
# Scoring the start of a long document is enough and keeps big files cheap.
_SCORE_CHARS = 20_000
# Below this plausibility score no legacy decoding is trusted.
_MIN_PLAUSIBILITY = 0.5
# Scores closer than this are a near-tie that charset-normalizer gets to break.
_TIE_MARGIN = 0.05
# Minimum number of non-ASCII bytes before charset-normalizer's tie-break is worth anything.
_MIN_DETECTOR_BYTES = 40

_UTF32_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"))
_UTF16_BOMS = ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


def decode_bytes(data: bytes) -> str:
    """Decode ``data`` to ``str``; raise ``ValueError(reason)`` for binary or undecodable input."""
    if not data:
        return ""
    text = _decode_with_bom(data)
    if text is not None:
        return text
    _reject_binary(data)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    best = _best_legacy_decoding(data)
    if best is not None:
        return best
    raise ValueError("undecodable text: not valid UTF-8, UTF-16 (with BOM), GB18030/GBK or Big5")


def _decode_with_bom(data: bytes) -> str | None:
    """Decode by byte-order mark; None when there is no BOM."""
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8):].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"invalid UTF-8 after a UTF-8 BOM (byte offset {exc.start + 3})") from None
    # UTF-32 first: its little-endian BOM begins with the UTF-16 one.
    for bom, codec in _UTF32_BOMS + _UTF16_BOMS:
        if data.startswith(bom):
            try:
                text = data[len(bom):].decode(codec)
            except UnicodeDecodeError:
                if codec.startswith("utf-32"):
                    continue  # FF FE 00 00 may also be UTF-16 LE starting with U+0000
                raise ValueError(f"invalid {codec.upper()} text after its BOM") from None
            if "\x00" in text:
                raise ValueError(f"binary file (NUL characters in {codec.upper()} text)")
            return text
    return None


def _reject_binary(data: bytes) -> None:
    sample = data[:_SNIFF_BYTES]
    if b"\x00" in sample:
        raise ValueError("binary file (contains NUL bytes); UTF-16 text needs a byte-order mark")
    controls = sum(1 for b in sample if b < 0x20 and b not in _TEXT_CONTROLS) + sample.count(0x7F)
    if controls > max(2, len(sample) * _MAX_CONTROL_SHARE):
        raise ValueError(f"binary file ({controls} control bytes in the first {len(sample)} bytes)")


def _best_legacy_decoding(data: bytes) -> str | None:
    scored: list[tuple[float, int, str, str]] = []
    seen: set[str] = set()
    for rank, codec in enumerate(_LEGACY_CANDIDATES):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        if text in seen:  # the Big5 variants agree on ordinary text
            continue
        seen.add(text)
        scored.append((plausibility(text[:_SCORE_CHARS]), -rank, codec, text))
    scored = [item for item in scored if item[0] > _MIN_PLAUSIBILITY]
    if not scored:
        return None
    scored.sort(reverse=True)  # best score first; equal scores keep candidate order
    near_tie = len(scored) > 1 and scored[0][0] - scored[1][0] < _TIE_MARGIN
    # On a few bytes the detector is noise too; then the candidate order (GB first) decides.
    if near_tie and sum(1 for b in data if b >= 0x80) >= _MIN_DETECTOR_BYTES:
        preferred = _charset_normalizer_pick(data, [scored[0][2], scored[1][2]])
        for _, _, codec, text in scored[:2]:
            if codec == preferred:
                return text
    return scored[0][3]


def _charset_normalizer_pick(data: bytes, codecs_: list[str]) -> str | None:
    """Ask charset-normalizer to break a near-tie; its opinion is only used between our candidates."""
    match = charset_normalizer.from_bytes(data, cp_isolation=codecs_).best()
    if match is None:
        return None
    name = match.encoding.replace("_", "").lower()
    for codec in codecs_:
        if codec.replace("_", "").lower() == name:
            return codec
    return None


def plausibility(text: str) -> float:
    """Score in [-2, 1]: how much the non-ASCII part of ``text`` looks like ordinary Chinese writing.

    Common characters are GB2312 level-1 (the 3,755 most frequent simplified hanzi) or Big5 level-1
    (the 5,401 frequent traditional ones). Decoding legacy bytes with the wrong codec yields mostly
    rare characters, kana, box drawing or private-use code points, which score low or negative.
    """
    total = 0.0
    count = 0
    for ch in text:
        if ch < "\x80":
            continue
        count += 1
        total += _char_weight(ch)
    return total / count if count else 1.0


@lru_cache(maxsize=8192)
def _char_weight(ch: str) -> float:
    if _is_ideograph(ch):
        return 1.0 if _is_common_hanzi(ch) else 0.2
    code = ord(ch)
    if 0x3000 <= code <= 0x303F or 0xFF01 <= code <= 0xFF5E or 0x2010 <= code <= 0x2027:
        return 1.0  # CJK / full-width punctuation, dashes, quotes, ellipsis
    if 0xFE30 <= code <= 0xFE4F or ch in "·×÷°±§№":
        return 0.5  # vertical forms and symbols that do appear in Chinese text
    category = unicodedata.category(ch)
    if category in ("Co", "Cn", "Cc", "Cs") or ch == "\ufffd":
        return -2.0  # private use, unassigned, C1 controls: a sure sign of the wrong codec
    return 0.0  # other scripts and symbols: possible, but not evidence for this decoding


def _is_ideograph(ch: str) -> bool:
    code = ord(ch)
    return 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x20000 <= code <= 0x3134F


def _is_common_hanzi(ch: str) -> bool:
    # Derived from the codecs' byte layout rather than a shipped character list.
    try:
        gb = ch.encode("gb2312")
        if len(gb) == 2 and 0xB0 <= gb[0] <= 0xD7:
            return True
    except UnicodeEncodeError:
        pass
    try:
        b5 = ch.encode("big5")
        return len(b5) == 2 and (0xA4 <= b5[0] <= 0xC5 or (b5[0] == 0xC6 and b5[1] <= 0x7E))
    except UnicodeEncodeError:
        return False
