"""Customer data as the shared channel may show it: surname only (张*), phone
masked (138****1234).

``mask_customer`` masks the customer cell. ``mask_note`` masks free text —
a callback note, a dispute reason, an overrule's evidence, a fix note —
before it is shown in the channel:

- **phone numbers** in any common format: mobiles with spaces, dots or
  dashes between the digits, a country code (+86, 0086, 86, (+86)), letters
  right before them (``tel13812345679``), full-width digits; landlines with
  an area code (021-12345678, (021)1234-5678, +86 21 1234 5678); a bare
  7- or 8-digit local number standing on its own (not inside a longer run of
  digits or letters, nor a date written 20261127);
- **the customer's name** from the customer cell, whole (王伟 → 王*), its
  given name of two or more characters standing alone (三丰 → 张*), and a
  one-character given name only where it plainly names the person: 小伟 /
  阿伟 (→ 小* / 阿*), unless that is a common word (小心, 小时, …); an
  English name as a whole and word by word (John Smith → J*** S****);
- **any Chinese name of two to four characters before 先生, 女士 or 小姐**,
  kept as surname and honorific (张三丰先生 → 张先生). The name is told
  from the words before it by a list of common surnames: it starts with one,
  and its other characters are none of the particles that end a phrase (的,
  了, 位, …). English: ``Mr. John Smith`` → ``Mr. J*** S****`` (a single word
  after Mr./Ms. is a surname and stays).

Order numbers are never touched: they are long runs of digits (or letters
and digits), and only runs of phone length count. Masking never lengthens
a text.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

HONORIFICS = ("先生", "女士", "小姐", "太太", "老师")
NAME_HONORIFICS = ("先生", "女士", "小姐")  # the ones a free-text name is recognised by
COMPOUND_SURNAMES = (
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒", "夏侯", "轩辕", "令狐", "端木",
)
# Common single-character surnames (covering well over 90% of people). Left
# out on purpose: characters far more often a word than a surname in a note
# (那, 位, 和, 来, 都, 但, 门, 国, 海, 南, …).
SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范"
    "金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪"
    "庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕"
    "屈饶解牟艾尤阳时穆农卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂佟应臧闵苟邬边卞姬师仇栾隋商刁沙荣巫寇"
    "桑郎甄丛仲虞敖巩明佘池查麻苑迟邝封谈匡鞠惠荆冀郁胥班储栗燕楚鄢劳谌奚皮粟冼蔺楼盘满闻厉伊仝郜阚权帅屠朴盖练廉禹井祖"
    "漆巴丰卿狄计索宣晋初容敬扈晁芮阙浦戈伏鹿薄邸雍辜裘亓修邰赫杭况宿鲜印逯隆茹诸战慕危亢嵇湛宾戎勾茅"
)
# The most common surnames: a one-character "given name" that is one of these
# is more likely the next person's surname (浙江王先生) than a given name.
TOP_SURNAMES = frozenset("王李张刘陈杨黄赵吴周徐孙马朱胡郭何罗郑梁")
# Surnames that are as often a preposition or a verb right before a name
# (向张三先生确认, 于李四女士处): skipped when the rest is a name by itself.
AMBIGUOUS_LEADS = frozenset("向于时成经")
# Characters that end a phrase rather than stand in a given name.
NOT_IN_NAME = frozenset("的了是在说称到给对把被也都和与及们位这那个不没已要让请叫问找就又还才将老该其本此每各某一两几")
# 小X / 阿X that are words, not a nickname, when X is a one-character given name.
COMMON_WORDS = frozenset(
    "小心 小时 小区 小雨 小米 小家 小伙 小孩 小票 小件 小型 小额 小包 小费 小吃 小说 小学 小组 小事 小车 小货 小哥 小妹 小弟 "
    "小店 小门 小猫 小狗 小宝 小时候 小伙子 小电 小柜 小箱 小盒 小样 小程 阿姨 阿婆 阿公 阿里".split()
)

D = "[0-9０-９]"  # a digit as typed, half- or full-width
SEP = r"[ \u00a0\u3000.\-－–—·]"  # one separator between digits
NO_DIGIT_BEFORE = "(?<![0-9０-９])"
NO_DIGIT_AFTER = "(?![0-9０-９])"
COUNTRY = rf"(?:(?:\+|＋|00)?86{SEP}?|[(（](?:\+|＋|00)?86[)）]{SEP}?)"
MOBILE = re.compile(rf"{NO_DIGIT_BEFORE}{COUNTRY}?(?P<num>[1１][3-9３-９](?:{SEP}?{D}){{9}}){NO_DIGIT_AFTER}")
LANDLINE = re.compile(
    rf"{NO_DIGIT_BEFORE}"
    rf"(?:(?:(?:\+|＋|00)86{SEP}?|[(（](?:\+|＋|00)?86[)）]{SEP}?)(?:[(（][1-9１-９]{D}{{1,2}}[)）]|[1-9１-９]{D}{{1,2}})"
    rf"|[(（][0０]{D}{{2,3}}[)）]|[0０]{D}{{2,3}})"
    rf"{SEP}?{D}{{3,4}}{SEP}?{D}{{4}}{NO_DIGIT_AFTER}"
)
# A local number without area code, on its own: not inside a longer run of
# digits or letters (an order number), unless those letters say "phone".
LOCAL = re.compile(
    rf"(?:(?<![0-9０-９A-Za-z])|(?<=[Tt][Ee][Ll])|(?<=[Pp]hone)|(?<=[Mm]obile)|(?<=[Cc]ell))"
    rf"(?P<num>[2-9２-９]{D}{{2,3}}{SEP}?{D}{{4}}){NO_DIGIT_AFTER}"
)
DATE_LIKE = re.compile(r"20\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])")
MASKED_NUMBER = re.compile(r"(?<![^\s,，/、;；])[0-9*()（）+][0-9*()（）+\-. ]*?\*{3}[0-9*()（）+\-. ]*?\d{4}(?!\d)")  # masked already: kept as it is
OTHER_NUMBER = re.compile(r"(?<![\dA-Za-z])(?:\d{2,4}-)?\d{7,}(?!\d)")  # in the customer cell, any long number is a phone
CJK = "[\u3400-\u4dbf\u4e00-\u9fff]"
HONORIFIC_NAME = re.compile(rf"(?P<prefix>{CJK}{{1,4}}?)(?P<title>{'|'.join(NAME_HONORIFICS)})")
ENGLISH_TITLE = re.compile(r"\b(?P<title>Mr|Mrs|Ms|Miss|Mx|Dr)(?P<dot>\.?\s+)(?P<name>[A-Z][a-z]+(?:[ -][A-Z][a-z]+){1,2})\b")

HALF_WIDTH = str.maketrans("０１２３４５６７８９", "0123456789")
ANY_DIGIT = re.compile("[0-9０-９]")


def _digits(text: str) -> str:
    return "".join(ch for ch in text.translate(HALF_WIDTH) if "0" <= ch <= "9")


def _star_all_but_last_four(text: str) -> str:
    total = sum(ch.isdigit() for ch in text)
    out, seen = [], 0
    for ch in text:
        if ch.isdigit():
            seen += 1
            out.append(ch if seen > total - 4 else "*")
        else:
            out.append(ch)
    return "".join(out)


def _mask_mobile(m: re.Match) -> str:
    digits = _digits(m.group("num"))
    return f"{digits[:3]}****{digits[-4:]}"


def _mask_local(m: re.Match) -> str:
    if DATE_LIKE.fullmatch(_digits(m.group("num"))):
        return m.group()
    return _star_all_but_last_four(m.group())


def mask_phone(text: str) -> str:
    """Every phone number in ``text`` masked: a mobile as 138****1234 (its
    country code dropped), a landline with every digit but the last four
    starred (***-****5678)."""
    if not ANY_DIGIT.search(text):
        return text
    text = MOBILE.sub(_mask_mobile, text)
    text = LANDLINE.sub(lambda m: _star_all_but_last_four(m.group()), text)
    return LOCAL.sub(_mask_local, text)


def _is_cjk(ch: str) -> bool:
    return unicodedata.name(ch, "").startswith("CJK")


def mask_name(name: str) -> str:
    """``张三`` → ``张*``; ``郑女士`` stays (surname and honorific);
    ``John Smith`` → ``J*** S****``."""
    name = name.strip()
    if not name:
        return ""
    if _is_cjk(name[0]):
        for title in HONORIFICS:
            if name.endswith(title) and len(name) > len(title):
                surname = _surname(name[: -len(title)])
                return surname + title
        return _surname(name) + "*"
    return " ".join(word[0] + "*" * (len(word) - 1) for word in name.split())


def _surname(name: str) -> str:
    for compound in COMPOUND_SURNAMES:
        if name.startswith(compound):
            return compound
    return name[0]


def _split_customer(customer: str) -> tuple[str, list[str]]:
    """(the name part, the phone numbers masked) of a customer cell."""
    rest = customer.strip()
    phones: list[str] = []
    for pattern, mask in (
        (MASKED_NUMBER, lambda m: m.group()),  # a cell masked by the retention job: as it is
        (MOBILE, _mask_mobile),
        (LANDLINE, lambda m: _star_all_but_last_four(m.group())),
        (LOCAL, lambda m: _star_all_but_last_four(m.group())),
        (OTHER_NUMBER, lambda m: _star_all_but_last_four(m.group())),
    ):
        phones += [mask(m) for m in pattern.finditer(rest)]
        rest = pattern.sub(" ", rest)
    return " ".join(rest.replace(",", " ").replace("，", " ").split()), phones


def mask_customer(customer: str) -> str:
    """The customer cell (name and phone, in any order) with both masked;
    a masked cell stays as it is."""
    name, phones = _split_customer(customer)
    parts = [mask_name(name)] if name else []
    return " ".join(p for p in parts + phones if p)


# --- free text ------------------------------------------------------------------------


def mask_note(text: str, customer: str = "") -> str:
    """Free text as the channel may show it: phone numbers, the customer's
    name (from the customer cell) and names before 先生/女士/小姐 masked."""
    if not text:
        return text
    text = mask_phone(text)
    text = HONORIFIC_NAME.sub(_mask_honorific_name, text)
    for pattern, replacement in _customer_patterns(customer):
        text = text.replace(pattern, replacement) if isinstance(pattern, str) else pattern.sub(replacement, text)
    return ENGLISH_TITLE.sub(lambda m: m.group("title") + m.group("dot") + mask_name(m.group("name").replace("-", " ")), text)


def _mask_honorific_name(m: re.Match) -> str:
    start = _name_start(m.string, m.start("prefix"), m.end("prefix"))
    if start is None:
        return m.group()
    name = m.string[start : m.end("prefix")]
    return m.string[m.start() : start] + _surname(name) + m.group("title")


def _name_start(text: str, lo: int, end: int) -> int | None:
    """Where the name before an honorific at ``end`` starts (looking back
    no further than ``lo``, nor past the four characters a name can have),
    or None when no full name stands there (just a surname, or a word)."""
    window = text[lo:end]  # the regex starts as far back as four characters allow
    n = len(window)

    def plausible(length: int) -> bool:
        if length > n:
            return False
        name = window[n - length :]
        surname = next((c for c in COMPOUND_SURNAMES if name.startswith(c)), name[0] if name[0] in SURNAMES else "")
        rest = name[len(surname) :]
        if not surname or not rest or any(ch in NOT_IN_NAME for ch in rest):
            return False
        return not (len(rest) == 1 and rest in TOP_SURNAMES)

    def compound(length: int) -> bool:
        return length <= n and any(window[n - length :].startswith(c) for c in COMPOUND_SURNAMES)

    if plausible(4) and compound(4):
        pick = 4
    elif plausible(3) and not (window[n - 3] in AMBIGUOUS_LEADS and plausible(2)):
        pick = 3
    elif plausible(2) and not (window[n - 2] in AMBIGUOUS_LEADS and window[n - 1] in SURNAMES):
        pick = 2
    elif plausible(4):
        pick = 4
    else:
        return None
    return end - pick


@lru_cache(maxsize=4096)
def _customer_patterns(customer: str) -> tuple[tuple[re.Pattern | str, str], ...]:
    """(pattern, replacement) for the customer's name as it may stand in a
    note, longest first: a Chinese name as a literal, an English one as a
    regex (whole words, spaces as written or not)."""
    name, _ = _split_customer(customer or "")
    pairs: list[tuple[str, str, bool]] = []  # (literal, replacement, latin)
    for part in re.split(r"[/、;；|]", name):
        part = part.strip()
        if not part:
            continue
        if _is_cjk(part[0]):
            part = "".join(part.split())
            for title in HONORIFICS:
                if part.endswith(title) and len(part) > len(title):
                    part = part[: -len(title)]
                    break
            surname = _surname(part)
            given = part[len(surname) :]
            if not given:
                continue
            masked = surname + "*"
            pairs.append((part, masked, False))
            if len(given) >= 2:
                pairs.append((given, masked, False))
            elif len(given) == 1 and _is_cjk(given):
                for lead in ("小", "阿"):
                    if lead + given not in COMMON_WORDS:
                        pairs.append((lead + given, lead + "*", False))
        else:
            words = part.split()
            if len(words) > 1:
                pairs.append((" ".join(words), mask_name(part), True))
            pairs += [(w, mask_name(w), True) for w in words if len(w) >= 2 and w.isalpha()]
    pairs.sort(key=lambda p: -len(p[0]))
    patterns: list[tuple[re.Pattern | str, str]] = []
    for literal, replacement, latin in pairs:
        if latin:
            body = r"\s+".join(re.escape(w) for w in literal.split())
            flags = re.IGNORECASE if " " in literal else 0
            patterns.append((re.compile(rf"(?<![A-Za-z]){body}(?![A-Za-z])", flags), replacement.replace("\\", r"\\")))
        else:
            patterns.append((literal, replacement))
    return tuple(patterns)
