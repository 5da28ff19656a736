"""Customers' data in free text (issue 7, point 6): whatever a callback agent
wrote in the note — or an owner in a dispute reason or a fix note, or CS in an
overrule's evidence — the channel never shows a customer's full name or phone
number. The notes below are written the way callback agents write them:
Chinese and English, names with and without 先生/女士/小姐, phones with spaces,
dots, dashes, +86 and letters before them. Each is rendered as the channel
shows it, in both locales, and every block text is searched."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from support import ItemStandIn

from bot.core.digest import PageContext, Resolution, ReviewFacts, digest_message, resolved_thread_text, review_thread_text
from bot.core.lifecycle import Action
from bot.core.masking import mask_customer, mask_note
from bot.core.routing import Owner
from bot.i18n import LOCALES, Catalog

SHANGHAI = ZoneInfo("Asia/Shanghai")
OWNER = Owner(name="大件配送", user="U0OWNERY", categories=("large",))
AT = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Case:
    customer: str  # the customer cell
    note: str  # as the agent typed it
    names: tuple[str, ...] = ()  # must not show: full names, given names
    phones: tuple[str, ...] = ()  # must not show, in any format (compared digit by digit)
    shows: tuple[str, ...] = ()  # must still show (the masked forms, order numbers, dates)


CASES = [
    # Observed on the landed code (issue 7), verbatim.
    Case("王伟 13812345678", "客户王伟称已收货", names=("王伟",), shows=("客户王*称已收货",)),
    Case("张三丰 13812341234", "张三丰先生(电话13812341234)", names=("张三丰", "三丰"), phones=("13812341234",), shows=("张先生(电话138****1234)",)),
    Case("李娜 13912345670", "tel13812345679", phones=("13812345679",), shows=("tel138****5679",)),
    Case("赵敏 13712345670", "138.1234.5670", phones=("13812345670",), shows=("138****5670",)),
    # Chinese notes: the customer's name, honorifics, phones in every format.
    Case("", "客户张三丰先生(电话13812341234)称货已收到", names=("张三丰", "三丰"), phones=("13812341234",), shows=("客户张先生",)),
    Case("陈静怡 15012345678", "陈静怡女士说送货员没敲门，电话150-1234-5678", names=("陈静怡", "静怡"), phones=("15012345678",), shows=("陈女士",)),
    Case("刘洋 18612345678", "回访刘洋，客户表示已签收，手机 186 1234 5678", names=("刘洋",), phones=("18612345678",), shows=("回访刘*", "186****5678")),
    Case("周杰 +86 135 1234 5678", "客户周杰（+86 135 1234 5678）要求改期到周六", names=("周杰",), phones=("13512345678",), shows=("135****5678",)),
    Case("黄晓明 13612345678", "联系人黄晓明先生，0086-136-1234-5678，称配送员未联系", names=("黄晓明", "晓明"), phones=("13612345678",), shows=("联系人黄先生",)),
    Case("吴磊 13012345678", "吴先生称家里有人，配送员直接拒收。备用电话021-12345678", names=("吴磊",), phones=("02112345678",), shows=("吴先生称",)),
    Case("孙丽 15912345678", "孙女士/孙丽 说快递放在门卫，座机(021)1234-5678", names=("孙丽",), phones=("02112345678",), shows=("孙女士/孙*",)),
    Case("欧阳娜娜 13912345678", "欧阳娜娜女士不在家，娜娜的妈妈签收了", names=("欧阳娜娜", "娜娜"), shows=("欧阳女士",)),
    Case("马云 13312345678", "客户马云已收货，订单SO20261126000123 正常", names=("马云",), shows=("SO20261126000123", "马*")),
    Case("徐峥 13512345678", "徐峥:已收到 tel:13512345678", names=("徐峥",), phones=("13512345678",)),
    Case("何炅 18812345678", "电话：188-1234-5678，何炅本人接听，确认已收货", names=("何炅",), phones=("18812345678",)),
    Case("郭靖 17712345678", "收件人郭靖不在，其妻黄蓉女士代收，手机17712345678", names=("郭靖", "黄蓉"), phones=("17712345678",), shows=("黄女士",)),
    Case("杨过 15212345678", "小过说东西收到了，谢谢", names=("小过",), shows=("小*说东西收到了",)),
    Case("王芳 13812345678", "致电王芳女士两次未接，第三次接通，客户称货物完好", names=("王芳",), shows=("致电王女士",)),
    Case("林峰 13812340000", "客户林峰称已收到，另留电话 138 1234 0000 和 +8613812340000", names=("林峰",), phones=("13812340000",)),
    Case("赵丽颖 13811112222", "赵丽颖小姐说周末在家，请改期。电话 138-1111-2222", names=("赵丽颖", "丽颖"), phones=("13811112222",), shows=("赵小姐",)),
    Case("钱多多 13866667777", "多多说已经收货了，号码13866667777", names=("钱多多", "多多"), phones=("13866667777",)),
    Case("宋江 0571-88886666", "宋江先生座机0571-88886666，称货已收到", names=("宋江",), phones=("057188886666",), shows=("宋先生",)),
    Case("孔明 (+86)18912345678", "孔先生(+86)18912345678 说没有拒收", names=("孔明",), phones=("18912345678",), shows=("孔先生",)),
    Case("韩梅梅 13500009999", "客户韩梅梅：已签收。Contact: 135 0000 9999", names=("韩梅梅", "梅梅"), phones=("13500009999",)),
    Case("李雷 13400008888", "李雷先生说送货员态度差，直接拒收。 tel.134-0000-8888", names=("李雷",), phones=("13400008888",), shows=("李先生",)),
    Case("", "收货人是刘德华先生，电话 86 13512349876", names=("刘德华", "德华"), phones=("13512349876",), shows=("刘先生",)),
    Case("高圆圆 15800001111", "高圆圆的家人代收，留言：圆圆不在家", names=("高圆圆", "圆圆")),
    Case("沈腾 13600002222", "沈腾 手机号：136 0000 2222 / 座机 010-62345678", names=("沈腾",), phones=("13600002222", "01062345678")),
    Case("郑爽 13700003333", "郑女士称已收货", names=("郑爽",), shows=("郑女士称已收货",)),
    Case("", "向张三先生确认过，货已送达", names=("张三",), shows=("向张先生确认过",)),
    Case("", "客户１３８１２３４５６７８（全角）说收到了", phones=("13812345678",)),
    Case("", "客户电话62345678，约下午送", phones=("62345678",), shows=("****5678",)),
    # English notes.
    Case("John Smith +86 138 0013 8000", "Customer John Smith says the parcel arrived; reach him at +86 138 0013 8000", names=("John", "Smith"), phones=("13800138000",)),
    Case("Mary Jones 13900001234", "Spoke to Mary, she received it. Mobile: 139-0000-1234", names=("Mary",), phones=("13900001234",)),
    Case("Li Na 13700001234", "Ms. Li Na confirmed delivery, phone 137.0000.1234", names=("Li Na",), phones=("13700001234",)),
    Case("David Wang", "Mr. David Wang never refused; Mr Wang says the courier never came. tel 021-6234 5678", names=("David",), phones=("02162345678",), shows=("Mr W*** says", "Mr. D**** W***")),
    Case("", "Customer Mrs. Emily Chen, cell13911112222, asked for weekend delivery", names=("Emily",), phones=("13911112222",)),
    Case("王强 13812345678", "Customer 王强 (tel: 138 1234 5678) confirmed receipt on 2026-11-26", names=("王强",), phones=("13812345678",), shows=("2026-11-26",)),
    # Nothing personal: nothing changes (no false alarms on words, dates, order numbers, amounts).
    Case("", "客户说她先生已经收到货了，这位女士很满意", shows=("客户说她先生已经收到货了，这位女士很满意",)),
    Case("王五 13812345678", "订单2026112600012345于2026-11-26 14:30配送，金额1380元，请小心轻放",
         shows=("订单2026112600012345于2026-11-26 14:30配送，金额1380元，请小心轻放",)),
    Case("", "Order SO20261126000000 delivered 20261126, 2 boxes, room 1203", shows=("Order SO20261126000000 delivered 20261126, 2 boxes, room 1203",)),
]


def digits(text: str) -> str:
    return "".join(str(unicodedata.digit(ch)) for ch in text if ch.isdigit())


def texts(blocks) -> list[str]:
    """Every text of the blocks (section, context, button), as Slack shows it."""
    found: list[str] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks)
    return found


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def assert_private(case: Case, shown: list[str], where: str) -> None:
    for text in shown:
        for name in case.names:
            assert name not in text, (where, case.note, text)
        for phone in case.phones:
            for run in re.split(r"[^0-9０-９ .\-()（）+]+", text):  # each stretch of digits and separators
                assert digits(phone) not in digits(run), (where, case.note, text)
    everything = unescape("\n".join(shown))
    for expected in case.shows:
        assert expected in everything, (where, case.note, everything)


def channel_renderings(case: Case, catalog: Catalog) -> dict[str, list[str]]:
    """Every place the channel shows the free text: the digest item, a fixed
    item's remedy, and the thread replies of a dispute and its overrule."""
    item = ItemStandIn(1, customer=case.customer, note=case.note)
    ctx = PageContext(owner=OWNER, digest_day=date(2026, 11, 27), deadline=AT, page=0, pages=1, total_items=1, open_items=1)
    fallback, blocks = digest_message(ctx, [item], catalog, SHANGHAI)
    fixed = replace(item, note="", status="fixed", last_actor="U0OWNERY", last_surface="command", fix_note=case.note)
    fix_fallback, fix_blocks = digest_message(ctx, [fixed], catalog, SHANGHAI)
    facts = ReviewFacts(
        item=item, owner=OWNER.name, owner_user=OWNER.user, disputed_by="U0OWNERY", disputed_at=AT,
        reason=case.note, reviewer="U0CS0001", agent_known=True, penalty=50,
    )
    overrule = Resolution(action=Action.OVERRULE, actor="U0CS0001", at=AT, note=case.note)
    return {
        "digest": [fallback, *texts(blocks)],
        "fix note": [fix_fallback, *texts(fix_blocks)],
        "dispute reply": [review_thread_text(facts, catalog)],
        "overrule reply": [resolved_thread_text(facts, overrule, catalog)],
    }


def test_there_are_thirty_realistic_notes_or_more() -> None:
    assert len(CASES) >= 30
    assert sum(bool(re.search(r"[A-Za-z]{4}", c.note)) for c in CASES) >= 6  # English ones too


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("case", CASES, ids=[c.note[:24] for c in CASES])
def test_the_channel_never_shows_a_customers_name_or_phone(case: Case, locale: str) -> None:
    for where, shown in channel_renderings(case, Catalog(locale)).items():
        assert_private(case, shown, where)


@pytest.mark.parametrize("case", CASES, ids=[c.note[:24] for c in CASES])
def test_masking_never_lengthens_a_note(case: Case) -> None:
    assert len(mask_note(case.note, case.customer)) <= len(case.note)


@pytest.mark.parametrize("locale", LOCALES)
def test_order_numbers_in_the_channel_are_never_masked(locale: str) -> None:
    orders = ["SO20261126000000", "2026112600012345", "13812345678901234", "JD0571888866661"]
    items = [ItemStandIn(i, order_no=o, note=f"原单 {o} 已重新配送") for i, o in enumerate(orders, 1)]
    ctx = PageContext(owner=OWNER, digest_day=date(2026, 11, 27), deadline=AT, page=0, pages=1, total_items=4, open_items=4)
    _, blocks = digest_message(ctx, items, Catalog(locale), SHANGHAI)
    shown = json.dumps(blocks, ensure_ascii=False)
    for order in orders:
        assert f"*{order}*" in shown  # the item's head
        assert f"原单 {order} 已重新配送" in shown  # and where a note names it


def test_the_full_record_for_cs_stays_unmasked() -> None:
    """Only the channel is masked: the review DM to CS shows what the agent wrote."""
    from bot.core.digest import review_message

    case = CASES[1]
    item = ItemStandIn(1, customer=case.customer, note=case.note, status="disputed")
    facts = ReviewFacts(
        item=item, owner=OWNER.name, owner_user=OWNER.user, disputed_by="U0OWNERY", disputed_at=AT,
        reason="张三丰先生说没收到", reviewer="U0CS0001", agent_known=True, penalty=50,
    )
    _, blocks = review_message(facts, Catalog("zh_CN"), SHANGHAI)
    shown = json.dumps(blocks, ensure_ascii=False)
    assert "张三丰先生(电话13812341234)" in shown
    assert "张三丰 13812341234" in shown


@pytest.mark.parametrize(
    ("note", "masked"),
    [
        ("这位先生说", "这位先生说"),
        ("李女士的先生说", "李女士的先生说"),
        ("浙江王先生", "浙江王先生"),
        ("客户李明华先生称", "客户李先生称"),
        ("欧阳娜娜女士", "欧阳女士"),
        ("那位小姐不在", "那位小姐不在"),
        ("Mr. Zhang called back", "Mr. Zhang called back"),
        ("Mr. John Smith called", "Mr. J*** S**** called"),
        ("电话 +86 21 1234 5678", "电话 +** ** **** 5678"),
        ("座机（021）1234-5678", "座机（***）****-5678"),
        ("日期20261127送达", "日期20261127送达"),
    ],
)
def test_names_before_an_honorific_are_told_from_the_words_before_them(note: str, masked: str) -> None:
    assert mask_note(note) == masked


@pytest.mark.parametrize("case", CASES, ids=[c.note[:24] for c in CASES])
def test_masking_twice_changes_nothing_more(case: Case) -> None:
    """What the retention job stored renders the same in the channel."""
    note, customer = mask_note(case.note, case.customer), mask_customer(case.customer)
    assert mask_customer(customer) == customer
    assert mask_note(note, customer) == note
    assert mask_note(note, case.customer) == note
