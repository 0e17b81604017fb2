"""parse_text on the real scraped sample (shared dir) and on synthetic pages with other layouts."""
from __future__ import annotations

import pytest
from shared_data import shared_file

from indexer.model import Article, Problem
from indexer.parse_text import parse_meta_line, parse_text, split_breadcrumb

SEED = "seeds/000_33ad1d7c1f9b7493.txt"
SEED_TITLE = "“蛰伏”一年后与微博互通 支付宝小程序欲在阿里系内打通关"


@pytest.fixture(scope="module")
def seed_article() -> Article:
    path = shared_file(*SEED.split("/"))
    if path is None:
        pytest.skip(f"shared data not available ({SEED}); set NEWS_SEARCH_SHARED to the shared folder")
    result = parse_text(path.read_text(encoding="utf-8"), str(path))
    assert isinstance(result, Article), result
    return result


def test_seed_metadata(seed_article: Article) -> None:
    assert seed_article.title == SEED_TITLE
    assert seed_article.channel == "新闻"
    assert seed_article.published == "2020-09-07T00:40:03"
    assert seed_article.author == "贺子圆"
    assert seed_article.source == "环球商业信息网"
    assert seed_article.url == "http://www.huangxiaobo.org/hqxw/132509.html"
    assert seed_article.id == "http://www.huangxiaobo.org/hqxw/132509.html"


def test_seed_body(seed_article: Article) -> None:
    lines = seed_article.body.split("\n")
    assert lines[0] == "现在看来,支付宝小程序可能会成为连接阿里生态各种业务的有形脐带。"
    assert lines[-1].endswith("之间的距离。")
    assert SEED_TITLE not in lines  # the repeated title captions are gone
    for boilerplate in ("本篇文章", "图片来源", "标题:", "地址:", "免责声明", "返回顶部", "来源:", "环球商业信息网是"):
        assert boilerplate not in seed_article.body


# Synthetic pages written for these tests: other label orders, separators and footers.
PAGE_GUILLEMETS = """欢迎访问示例资讯网，本站提供本地新闻与生活服务信息。
您的位置：首页 » 财经 » 国内财经 » 本地菜价回落...

本地菜价回落 蔬菜供应充足
发布时间：2021年3月5日 09:15 | 来源：示例日报 | 记者：张三
本文共1200字，阅读时间约3分钟
连日来，本市蔬菜批发市场供应充足，多个品种价格出现回落。
图源：网络
本地菜价回落 蔬菜供应充足
市场管理方表示，将继续做好保供稳价工作。
（责任编辑：李四）
上一篇：本市新开两条公交线路
"""

PAGE_TITLE_FOOTER = """示例体育网 - 每日体育资讯
首页 / 体育 / 正文
2022-06-18 20:05 来源：示例晚报 作者：王五
主队主场二比一逆转取胜
比赛第七十分钟，替补登场的前锋扳平比分。
终场前，队长头球破门完成逆转。
原标题：主队主场二比一逆转取胜
原文链接：https://sports.example.org/2022/0618/77.html?utm_source=feed
版权所有 示例体育网
"""

PAGE_PLAIN = """图书馆延长开放时间
日期：9月1日
作者：赵六
市图书馆自本周起延长夜间开放时间至二十二点。
读者可通过官方小程序预约座位。
"""

PAGE_GLUED_FULLWIDTH = """当前位置：主页 > 科技 > 新型电池研发取得进展
新型电池研发取得进展
作者：钱七来源：示例科技报时间：２０２３年１１月２日　１０：３０浏览：１２３
研究团队表示，新电池在低温环境下的续航表现明显提升。
地址：http://tech.example.net/2023/1102/5.html
免责声明：本站内容来自网络。
"""


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        (
            PAGE_GUILLEMETS,
            {
                "title": "本地菜价回落 蔬菜供应充足",
                "channel": "国内财经",
                "published": "2021-03-05T09:15:00",
                "source": "示例日报",
                "author": "张三",
                "url": None,
                "body": "连日来，本市蔬菜批发市场供应充足，多个品种价格出现回落。\n市场管理方表示，将继续做好保供稳价工作。",
            },
        ),
        (
            PAGE_TITLE_FOOTER,
            {
                "title": "主队主场二比一逆转取胜",
                "channel": "体育",
                "published": "2022-06-18T20:05:00",
                "source": "示例晚报",
                "author": "王五",
                "url": "https://sports.example.org/2022/0618/77.html?utm_source=feed",
                "body": "比赛第七十分钟，替补登场的前锋扳平比分。\n终场前，队长头球破门完成逆转。",
            },
        ),
        (
            PAGE_PLAIN,
            {
                "title": "图书馆延长开放时间",
                "channel": None,
                "published": None,  # "9月1日" has no year and the page no URL to take one from
                "source": None,
                "author": "赵六",
                "url": None,
                "body": "市图书馆自本周起延长夜间开放时间至二十二点。\n读者可通过官方小程序预约座位。",
            },
        ),
        (
            PAGE_GLUED_FULLWIDTH,
            {
                "title": "新型电池研发取得进展",
                "channel": "科技",
                "published": "2023-11-02T10:30:00",
                "source": "示例科技报",
                "author": "钱七",
                "url": "http://tech.example.net/2023/1102/5.html",
                "body": "研究团队表示，新电池在低温环境下的续航表现明显提升。",
            },
        ),
    ],
    ids=["guillemets", "title-footer", "plain", "glued-fullwidth"],
)
def test_synthetic_pages(page: str, expected: dict) -> None:
    article = parse_text(page, "page.txt")
    assert isinstance(article, Article), article
    assert {key: getattr(article, key) for key in expected} == expected
    assert article.origin == "page.txt"


def test_year_for_short_dates_comes_from_the_url() -> None:
    page = "市场简讯\n时间：09-07 08:30\n今日市场平稳运行。\n链接：http://m.example.cn/2019/0907/1.html\n"
    article = parse_text(page, "p.txt")
    assert isinstance(article, Article) and article.published == "2019-09-07T08:30:00"


@pytest.mark.parametrize("page", ["", "   \n\n", "返回顶部\n版权所有"])
def test_pages_without_content_are_problems(page: str) -> None:
    result = parse_text(page, "blank.txt")
    assert isinstance(result, Problem) and result.path == "blank.txt"
    assert result.reason in ("empty file", "no title and no body")


@pytest.mark.parametrize(
    ("line", "crumbs"),
    [
        ("当前位置:主页 > 新闻 > 标题", ["新闻", "标题"]),
        ("您的位置：首页 » 国际 » 亚洲", ["国际", "亚洲"]),
        ("首页 > 财经", ["财经"]),
        ("位置：首页/体育/正文", ["体育", "正文"]),
        ("首页新闻很多", None),
        ("普通的一段正文。", None),
    ],
)
def test_split_breadcrumb(line: str, crumbs: list[str] | None) -> None:
    assert split_breadcrumb(line) == crumbs


@pytest.mark.parametrize(
    ("line", "values"),
    [
        (
            "来源:环球网作者:张三更新时间:2020-09-07 00:40:03阅读:",
            {"来源": "环球网", "作者": "张三", "更新时间": "2020-09-07 00:40:03"},
        ),
        ("2022-06-18 来源：晚报", {"日期": "2022-06-18", "来源": "晚报"}),
        ("来源：新华社 2021-05-03 10:00", {"来源": "新华社", "日期": "2021-05-03 10:00"}),
        ("记者从现场了解到：道路已经恢复通行。", None),
        ("据来源：不详的消息称", None),
    ],
)
def test_parse_meta_line(line: str, values: dict | None) -> None:
    assert parse_meta_line(line) == values


def test_traditional_labels() -> None:
    page = (
        "當前位置：首頁 > 國際 > 颱風過境 多地停班停課\n"
        "颱風過境 多地停班停課\n"
        "發佈時間：2023年7月28日 08:00　來源：示例時報　記者：陳十 報導\n"
        "圖片來源：資料照\n"
        "強颱今晨登陸，多個縣市宣布停班停課。\n"
        "原文連結：https://tw.example.com/news/2023/0728/1.html\n"
        "免責聲明：本站轉載內容僅供參考。\n"
    )
    article = parse_text(page, "tw.txt")
    assert isinstance(article, Article), article
    assert (article.title, article.channel, article.published, article.source, article.author, article.url) == (
        "颱風過境 多地停班停課",
        "國際",
        "2023-07-28T08:00:00",
        "示例時報",
        "陳十",
        "https://tw.example.com/news/2023/0728/1.html",
    )
    assert article.body == "強颱今晨登陸，多個縣市宣布停班停課。"
