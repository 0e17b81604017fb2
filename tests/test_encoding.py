"""decode_bytes: every supported encoding round-trips exactly; binary and unknown bytes are refused."""
from __future__ import annotations

import codecs

import pytest

from indexer.encoding import decode_bytes

SIMPLIFIED = [
    "中文",
    "新闻",
    "标题",
    "日期：2020年9月7日",
    "蛰伏一年后与微博互通，支付宝小程序欲在阿里系内打通关。",
    "本市蔬菜批发市场供应充足，多个品种价格出现回落。\n市场管理方表示，将继续做好保供稳价工作。",
]
TRADITIONAL = [
    "新聞",
    "臺灣",
    "臺北市政府",
    "總統府今天發表聲明，對於颱風造成的損失表示關切。",
    "記者從現場了解到，搶修工作已經全面展開，預計明天恢復供電。",
]


@pytest.mark.parametrize("text", SIMPLIFIED + TRADITIONAL)
@pytest.mark.parametrize("codec", ["utf-8", "utf-8-sig", "utf-16", "utf-16-be", "gbk", "gb18030"])
def test_round_trip_unicode_and_gb(text: str, codec: str) -> None:
    data = text.encode(codec)
    if codec == "utf-16-be":
        data = codecs.BOM_UTF16_BE + data
    assert decode_bytes(data) == text


@pytest.mark.parametrize("text", TRADITIONAL + ["中文", "日期：2020年9月7日"])
def test_round_trip_big5(text: str) -> None:
    assert decode_bytes(text.encode("big5")) == text


def test_gbk_text_is_not_read_as_big5() -> None:
    # Two characters only: the case where statistical detectors guess Big5 or CP949.
    assert decode_bytes("中文".encode("gbk")) == "中文"
    assert decode_bytes("2022年100".encode("gbk")) == "2022年100"


def test_ascii_and_empty() -> None:
    assert decode_bytes(b"plain ascii\n") == "plain ascii\n"
    assert decode_bytes(b"") == ""


def test_bom_is_removed() -> None:
    assert decode_bytes(codecs.BOM_UTF8 + "标题".encode()) == "标题"
    assert decode_bytes("标题".encode("utf-16")) == "标题"  # Python writes a BOM for "utf-16"


@pytest.mark.parametrize(
    ("data", "reason_start"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
        (bytes(range(1, 9)) * 20, "binary file"),
        ("News 标题".encode("utf-16-le"), "binary file"),  # UTF-16 without BOM: NULs in ASCII
        ("café au lait".encode("cp1252"), "undecodable text"),
        (codecs.BOM_UTF8 + b"\xff\xfe broken", "invalid UTF-8 after a UTF-8 BOM"),
        (codecs.BOM_UTF16_LE + b"\x00\xd8", "invalid UTF-16-LE"),
    ],
)
def test_refused(data: bytes, reason_start: str) -> None:
    with pytest.raises(ValueError) as info:
        decode_bytes(data)
    assert str(info.value).startswith(reason_start)


def test_text_with_tabs_and_form_feeds_is_not_binary() -> None:
    assert decode_bytes("a\tb\fc\r\n中".encode("gbk")) == "a\tb\fc\r\n中"
