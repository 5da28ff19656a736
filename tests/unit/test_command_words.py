"""Every /reject subcommand has a Chinese word beside its English one: it
parses, ``/reject help`` shows it, and the manifest's usage hint names it."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pytest

from bot.core.commands import ALIASES, CHINESE_WORDS, Command, Verb, command_words, parse_command

MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yml"
USAGE_HINT_LIMIT = 1000  # Slack's manifest schema: slash_commands[].usage_hint maxLength (slackapi/manifest-schema)


def _chinese(word: str) -> bool:
    return any(unicodedata.name(ch, "").startswith("CJK UNIFIED") for ch in word)


@pytest.mark.parametrize("verb", list(Verb))
def test_every_subcommand_has_a_chinese_word_that_parses_to_it(verb) -> None:
    word = CHINESE_WORDS.get(verb)
    assert word and _chinese(word), f"/reject {verb} has no Chinese word in CHINESE_WORDS"
    assert ALIASES[word] is verb
    assert ALIASES[str(verb)] is verb  # and its English one


def test_each_verb_lists_its_english_and_chinese_word_in_verb_order() -> None:
    assert command_words()[0] == ("confirm", "确认")
    assert [en for en, _ in command_words()] == [str(v) for v in Verb]
    assert all(zh for _, zh in command_words())


@pytest.mark.parametrize(("text", "expected"), [
    ("确认 SO1 SO2", Command(Verb.CONFIRM, orders=("SO1", "SO2"))),
    ("确认 全部", Command(Verb.CONFIRM, all=True)),
    ("申诉 SO1，客户改约", Command(Verb.DISPUTE, orders=("SO1",), reason="客户改约")),
    ("申诉成立 SO1", Command(Verb.UPHOLD, orders=("SO1",))),
    ("申诉驳回 SO1 录音为证", Command(Verb.OVERRULE, orders=("SO1",), reason="录音为证")),
    ("整改 SO1 已重新配送", Command(Verb.FIX, orders=("SO1",), reason="已重新配送")),
    ("状态 SO1", Command(Verb.STATUS, orders=("SO1",))),
    ("帮助", Command(Verb.HELP)),
    ("下一步", Command(Verb.NEXT)),
    ("本月", Command(Verb.MONTH)),
    ("作废 SO1 录错了", Command(Verb.VOID, orders=("SO1",), reason="录错了")),
    ("重开 SO1 负责人要求", Command(Verb.REOPEN, orders=("SO1",), reason="负责人要求")),
    ("查找 杭州", Command(Verb.FIND, reason="杭州")),
    ("请假", Command(Verb.AWAY)),
    ("联系函 小件配送", Command(Verb.LETTER, reason="小件配送")),
    ("联系函列表", Command(Verb.LETTERS)),
])
def test_chinese_words_parse_like_the_english_ones(text, expected) -> None:
    assert parse_command(text) == expected


def _usage_hint() -> str:
    (hint,) = re.findall(r'^\s*usage_hint:\s*"(.*)"\s*$', MANIFEST.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return hint


def test_the_manifest_usage_hint_names_every_chinese_word_within_slack_s_limit() -> None:
    hint = _usage_hint()
    assert len(hint) <= USAGE_HINT_LIMIT
    missing = [word for word in CHINESE_WORDS.values() if word not in hint]
    assert not missing, f"manifest.yml's usage_hint does not name {missing}"
