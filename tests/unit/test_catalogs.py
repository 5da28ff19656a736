"""The message catalogs: both locales say the same things, and every key the
code asks for exists."""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

from bot.core import importing
from bot.core.answers import Outcome
from bot.core.followup import StepKind
from bot.core.lifecycle import Action, Status, Surface
from bot.core.reports import Reason
from bot.core.routing import CATEGORIES
from bot.i18n import LOCALES, LOCALES_DIR, Catalog, load_messages, placeholders
from bot.services.digest import DigestState

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*(ROOT / "bot").rglob("*.py"), *(ROOT / "handlers").rglob("*.py")])

KEY = re.compile(r"[a-z][a-z_]*\.[a-z0-9_]+")
FAMILY = re.compile(r"[a-z][a-z_]*\.[a-z0-9_]*")
# "demo.db" is a file name, not a key of the demo catalog.
FILE_SUFFIXES = {"db", "sqlite", "toml", "py", "csv", "xlsx", "xls", "json", "txt", "md", "log", "html", "png", "env"}
# Slack Web API methods named like a key of one of our areas ("files"): not keys.
SLACK_METHODS = {"files.info", "files.upload"}
# A string argument of these calls is a catalog key (services.reply's second;
# bot.config.Problem's first).
KEY_CALLS = {"t", "reply", "CommandError", "ExportError", "RowProblem", "Problem"}


def catalog_areas() -> set[str]:
    return {path.stem for locale in LOCALES for path in (LOCALES_DIR / locale).glob("*.toml")}


@cache
def parsed_sources() -> list[tuple[str, ast.Module]]:
    return [(str(p.relative_to(ROOT)), ast.parse(p.read_text(encoding="utf-8"))) for p in SOURCES]


def _callee(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    if isinstance(call.func, ast.Name):
        return call.func.id
    return None


def _skipped(tree: ast.Module) -> set[int]:
    """Docstrings, and the literal parts of f-strings (handled as families)."""
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                skip.add(id(first.value))
        if isinstance(node, ast.JoinedStr):
            skip.update(id(v) for v in node.values)
    return skip


@cache
def keys_in_code() -> dict[str, str]:
    """Catalog keys written as plain string literals in bot/ and handlers/: key -> where."""
    called: dict[str, str] = {}
    for where, tree in parsed_sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _callee(node) in KEY_CALLS:
                for arg in node.args:
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and KEY.fullmatch(arg.value):
                        called.setdefault(arg.value, f"{where}:{arg.lineno}")
    # Areas: the catalog files, plus any area the code raises or replies with
    # (a key whose catalog file is missing must still be found).
    areas = catalog_areas() | {key.split(".")[0] for key in called}
    keys = dict(called)
    for where, tree in parsed_sources():
        skip = _skipped(tree)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
                and KEY.fullmatch(node.value) and node.value.split(".")[0] in areas
                and node.value.split(".")[1] not in FILE_SUFFIXES and node.value not in SLACK_METHODS
            ):
                keys.setdefault(node.value, f"{where}:{node.lineno}")
    return keys


@cache
def key_families_in_code() -> dict[str, str]:
    """Prefixes of keys built with f-strings (``f"status.{s}"`` -> ``"status."``): prefix -> where."""
    families = {}
    for where, tree in parsed_sources():
        for node in ast.walk(tree):
            if not isinstance(node, ast.JoinedStr) or len(node.values) < 2:
                continue
            head, second = node.values[0], node.values[1]
            if (
                isinstance(head, ast.Constant) and isinstance(second, ast.FormattedValue)
                and FAMILY.fullmatch(head.value) and head.value.split(".")[0] in catalog_areas()
            ):
                families.setdefault(head.value, f"{where}:{node.lineno}")
    return families


# Actions people take and get a summary of (answers.answer_summary).
ANSWERED_ACTIONS = (Action.CONFIRM, Action.DISPUTE, Action.UNDO_CONFIRM, Action.UPHOLD, Action.OVERRULE, Action.FIX)

# Every f-string family the code uses, with every value it can take.
FAMILIES: dict[str, set[str]] = {
    "status.": {s.value for s in Status},
    "surface.": {s.value for s in Surface},
    "digest.category_": set(CATEGORIES),
    "digest.scenario_": {"received", "reschedule"},
    "answers.applied_": {a.value for a in ANSWERED_ACTIONS},
    "answers.repeated_": {a.value for a in ANSWERED_ACTIONS},
    "cli.digest_": {s.value for s in DigestState},
    "answers.count_": {o.value for o in Outcome},
    "followup.failed_": {k.value for k in StepKind},
    "reports.reason_": {r.value for r in Reason},
}


# --- the two catalogs agree --------------------------------------------------


def test_both_locales_have_the_same_files() -> None:
    files = {locale: sorted(p.name for p in (LOCALES_DIR / locale).glob("*.toml")) for locale in LOCALES}
    assert files["zh_CN"] == files["en"]


def test_both_locales_have_exactly_the_same_keys() -> None:
    zh, en = set(load_messages("zh_CN")), set(load_messages("en"))
    assert sorted(zh - en) == [], "only in zh_CN"
    assert sorted(en - zh) == [], "only in en"
    assert len(zh) > 50


def test_every_key_has_the_same_placeholders_in_both_locales() -> None:
    zh, en = load_messages("zh_CN"), load_messages("en")
    differ = {key: (placeholders(zh[key]), placeholders(en[key])) for key in zh.keys() & en.keys()
              if placeholders(zh[key]) != placeholders(en[key])}
    assert differ == {}


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_formats_with_its_placeholders(locale: str) -> None:
    catalog = Catalog(locale)
    for key, text in load_messages(locale).items():
        assert text.strip(), f"{key} is empty"
        params = {name: "X" for name in placeholders(text)}
        catalog.t(key, **params)  # no stray braces or positional fields


def test_placeholders_finds_names() -> None:
    assert placeholders("{order} is {status}; {{literal}}") == {"order", "status"}
    assert placeholders("no fields") == set()


# --- every key the code uses exists ------------------------------------------


def test_the_scan_finds_keys_and_families() -> None:
    # Guard against a scan that silently finds nothing.
    keys = keys_in_code()
    for key in ("commands.help", "answers.stale_button", "commands.dispute_needs_reason", "digest.item_facts",
                "modals.dispute_title", "cli.db_upgraded", "answers.reason_required",
                "commands.overrule_needs_evidence", "commands.fix_needs_note", "review.thread_overruled",
                "modals.fix_title", "answers.cs_only", "answers.wrong_state_fix",
                "config.in_file", "config.channel_not_id", "cli.problems_found", "cli.email_unknown"):
        assert key in keys, key
    assert set(key_families_in_code()) >= {"status.", "surface.", "answers.applied_", "cli.digest_"}


def test_the_scan_skips_docstrings_and_f_string_parts() -> None:
    tree = ast.parse('"""Say catalog.t("digest.nope")."""\nx = f"digest.category_{c}"\ny = "digest.title"\n')
    skip = _skipped(tree)
    found = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and id(n) not in skip]
    assert found == ["digest.title"]


@pytest.mark.parametrize("locale", LOCALES)
def test_every_literal_key_in_the_code_exists(locale: str) -> None:
    messages = load_messages(locale)
    missing = {key: where for key, where in keys_in_code().items() if key not in messages}
    assert missing == {}


def test_every_key_family_in_the_code_is_known_here() -> None:
    unknown = {prefix: where for prefix, where in key_families_in_code().items() if prefix not in FAMILIES}
    assert unknown == {}, "add the family and its values to FAMILIES"


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("prefix", sorted(FAMILIES))
def test_every_member_of_a_key_family_exists(locale: str, prefix: str) -> None:
    messages = load_messages(locale)
    assert sorted(prefix + v for v in FAMILIES[prefix] if prefix + v not in messages) == []


def test_family_values_match_the_code() -> None:
    assert set(importing.SCENARIOS.values()) == FAMILIES["digest.scenario_"]
    assert set(importing.CATEGORIES.values()) == FAMILIES["digest.category_"]
