"""Message catalogs: every user-facing text, in zh_CN and en.

A catalog is a folder ``bot/locales/<locale>/`` of TOML files; a file's name
is the first part of its keys (``import.toml`` holds ``import.*``), so each
area of the bot keeps its texts in its own file. Texts use ``str.format``
placeholders: ``catalog.t("import.added", count=3)``.

Each person reads their own Slack locale's catalog (``locale_for_slack``:
zh-* gets zh_CN, the rest en); channel posts use the bot's ``BOT_LOCALE``.

Errors: ``UnknownLocale``, ``MissingMessage``.
"""

from __future__ import annotations

import string
import tomllib
from functools import cache
from pathlib import Path

LOCALES_DIR = Path(__file__).parent / "locales"
LOCALES = ("zh_CN", "en")


class UnknownLocale(ValueError):
    pass


class MissingMessage(KeyError):
    pass


def _flatten(prefix: str, table: dict, out: dict[str, str]) -> None:
    for key, value in table.items():
        full = f"{prefix}.{key}"
        if isinstance(value, dict):
            _flatten(full, value, out)
        else:
            out[full] = str(value)


@cache
def load_messages(locale: str) -> dict[str, str]:
    folder = LOCALES_DIR / locale
    if locale not in LOCALES or not folder.is_dir():
        raise UnknownLocale(f"unknown locale {locale!r}; use one of {', '.join(LOCALES)}")
    messages: dict[str, str] = {}
    for path in sorted(folder.glob("*.toml")):
        with path.open("rb") as fh:
            _flatten(path.stem, tomllib.load(fh), messages)
    return messages


def locale_for_slack(slack_locale: str | None) -> str:
    """Our catalog for a Slack user locale (``zh-CN``, ``zh-TW``, ``en-US``,
    ``ja-JP``…): any Chinese gets zh_CN, everything else en."""
    language = (slack_locale or "").replace("_", "-").split("-")[0].strip().lower()
    return "zh_CN" if language == "zh" else "en"


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


class Catalog:
    """Texts of one locale."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self._messages = load_messages(locale)

    def t(self, key: str, /, **params: object) -> str:
        try:
            text = self._messages[key]
        except KeyError:
            raise MissingMessage(f"no message {key!r} in the {self.locale} catalog") from None
        return text.format(**params) if params else text

    def has(self, key: str) -> bool:
        return key in self._messages
