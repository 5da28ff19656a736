"""Block Kit as HTML, the way Slack's client shows what the bot sent.

Every string that reaches the page is escaped here; buttons carry what a
click must send back (``data-action-id``, ``data-value``, ``data-block-id``,
and a ``confirm`` dialog's texts), the page's script turns a click into a
request to the sandbox, which signs a ``block_actions`` payload for the app.

mrkdwn (https://docs.slack.dev/messaging/formatting-message-text): ``*bold*``,
``_italic_``, ``~strike~``, `` `code` ``, ```` ``` ```` blocks, ``>`` quotes,
``<@U…>`` mentions (shown with the person's name), ``<#C…|name>``,
``<!here>``, ``<url|label>`` links and bare ones, ``:emoji:`` codes it knows; ``&amp;``, ``&lt;``, ``&gt;`` are the
escapes Slack's text carries. A block type this renderer does not know is
shown as its type and its texts, never dropped.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Mapping
from typing import Any

_CONTROL = re.compile(r"<([^<>\n]+)>|(https?://[^\s<>|]+)")  # <…> sequences, and bare links Slack's client links too
_SAFE_URL = re.compile(r"(?i)(https?://|mailto:)")
_PERMALINK = re.compile(r"https://[\w.-]+\.slack\.com/archives/(\w+)/p(\d{10})(\d{6})")
# Emoji codes as Slack's client draws them: the bot's texts use these, and the page offers these reactions
EMOJI = {"white_check_mark": "✅", "eyes": "👀", "+1": "👍", "x": "❌", "heavy_check_mark": "✔️", "warning": "⚠️", "page_facing_up": "📄"}
_EMOJI_CODE = re.compile(r":([a-z0-9_+-]+):")
_FORMATS = (
    (re.compile(r"```(.+?)```", re.S), r"<pre>\1</pre>"),
    (re.compile(r"`([^`\n]+)`"), r"<code>\1</code>"),
    (re.compile(r"(?<![*A-Za-z0-9])\*(?!\s)([^*\n]+?)\*(?![*A-Za-z0-9])"), r"<b>\1</b>"),
    (re.compile(r"(?<![_A-Za-z0-9])_(?!\s)([^_\n]+?)_(?![_A-Za-z0-9])"), r"<i>\1</i>"),
    (re.compile(r"(?<![~A-Za-z0-9])~(?!\s)([^~\n]+?)~(?![~A-Za-z0-9])"), r"<s>\1</s>"),
)


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _link(url: str, label: str) -> str:
    """A link; a Slack permalink to a message becomes a jump inside the page.
    Only web and mail addresses are links: ``javascript:``, ``data:`` and the
    like are shown as their label (text typed by a person reaches here)."""
    found = _PERMALINK.fullmatch(url.split("?")[0])
    if not found and not _SAFE_URL.match(url):
        return label
    if found:
        channel, ts = found.group(1), f"{found.group(2)}.{found.group(3)}"
        return f'<a href="#" class="sb-permalink" data-channel="{_esc(channel)}" data-ts="{_esc(ts)}">{label}</a>'
    return f'<a href="{_esc(url)}" target="_blank" rel="noopener noreferrer">{label}</a>'


def _control(inner: str, names: Mapping[str, str]) -> str:
    target, _, label = inner.partition("|")
    label_html = _esc(html.unescape(label)) if label else ""
    if target.startswith("@"):
        user = target[1:]
        return f'<span class="sb-mention">@{_esc(names.get(user, label or user))}</span>'
    if target.startswith("#"):
        return f'<span class="sb-mention">#{label_html or _esc(target[1:])}</span>'
    if target.startswith("!"):
        word = target[1:].split("^")[0]
        return f'<span class="sb-mention">@{label_html or _esc(word)}</span>'
    url = html.unescape(target)
    return _link(url, label_html or _esc(url))


def mrkdwn(text: str, names: Mapping[str, str]) -> str:
    """Slack mrkdwn as HTML."""
    controls: list[str] = []
    text = text.replace("\x00", "")  # NUL marks the links held aside below; a person's text may carry one

    def hold(match: re.Match[str]) -> str:
        bare = match.group(2)
        controls.append(_link(html.unescape(bare), _esc(html.unescape(bare))) if bare else _control(match.group(1), names))
        return f"\x00{len(controls) - 1}\x00"

    held = _CONTROL.sub(hold, text)
    out = _esc(html.unescape(held))
    out = _EMOJI_CODE.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), out)
    for pattern, replacement in _FORMATS:
        out = pattern.sub(replacement, out)
    lines, quote = [], []
    for line in out.split("\n"):
        if line.startswith("&gt;"):
            quote.append(line[4:].lstrip())
            continue
        if quote:
            lines.append("<blockquote>" + "<br>".join(quote) + "</blockquote>")
            quote = []
        lines.append(line)
    if quote:
        lines.append("<blockquote>" + "<br>".join(quote) + "</blockquote>")
    out = "<br>".join(lines).replace("</blockquote><br>", "</blockquote>")
    return re.sub("\x00(\\d+)\x00", lambda m: controls[int(m.group(1))], out)


def text_object(obj: Mapping[str, Any] | None, names: Mapping[str, str]) -> str:
    """A text object (``plain_text`` or ``mrkdwn``) as HTML."""
    if not obj:
        return ""
    if obj.get("type") == "mrkdwn":
        return mrkdwn(str(obj.get("text", "")), names)
    return _esc(obj.get("text", "")).replace("\n", "<br>")


def _texts(node: Any) -> list[str]:
    """Every ``text`` string inside an unknown block, to show it plainly."""
    if isinstance(node, dict):
        found = [node["text"]] if isinstance(node.get("text"), str) else []
        return found + [t for key, value in node.items() if key != "text" for t in _texts(value)]
    if isinstance(node, list):
        return [t for value in node for t in _texts(value)]
    return []


def _unknown(kind: str, node: Mapping[str, Any]) -> str:
    texts = "<br>".join(_esc(t) for t in _texts(node))
    return f'<div class="sb-unknown"><span class="sb-kind">[{_esc(kind)}]</span> {texts}</div>'


def element(node: Mapping[str, Any], block_id: str, names: Mapping[str, str]) -> str:
    """An interactive or context element: buttons clickable, images shown, others plain."""
    kind = node.get("type")
    if kind == "button":
        attrs = {
            "class": "sb-btn" + (f" sb-{node['style']}" if node.get("style") in ("primary", "danger") else ""),
            "data-action-id": node.get("action_id", ""),
            "data-value": node.get("value", ""),
            "data-block-id": block_id,
        }
        if node.get("url"):
            attrs["data-url"] = node["url"]
        if node.get("confirm"):
            attrs["data-confirm"] = json.dumps(node["confirm"], ensure_ascii=False)
        rendered = " ".join(f'{key}="{_esc(value)}"' for key, value in attrs.items())
        return f"<button type=\"button\" {rendered}>{text_object(node.get('text'), names)}</button>"
    if kind == "image":
        return f'<img class="sb-thumb" src="{_esc(node.get("image_url", ""))}" alt="{_esc(node.get("alt_text", ""))}">'
    if kind in ("mrkdwn", "plain_text"):
        return f"<span>{text_object(node, names)}</span>"
    return _unknown(str(kind), node)


def _input(block: Mapping[str, Any], names: Mapping[str, str], errors: Mapping[str, str]) -> str:
    """An input block of a modal: its label, the element as a form field, its hint and error."""
    block_id = str(block.get("block_id", ""))
    node = block.get("element") or {}
    kind = node.get("type")
    action_id = str(node.get("action_id", ""))
    field_id = f"in-{block_id}"
    common = f'id="{_esc(field_id)}" name="{_esc(block_id)}" data-block-id="{_esc(block_id)}" data-action-id="{_esc(action_id)}" data-type="{_esc(kind)}"'
    placeholder = _esc((node.get("placeholder") or {}).get("text", ""))
    if kind == "plain_text_input" and node.get("multiline"):
        field = f'<textarea {common} placeholder="{placeholder}" rows="3">{_esc(node.get("initial_value", ""))}</textarea>'
    elif kind == "plain_text_input":
        field = f'<input type="text" {common} placeholder="{placeholder}" value="{_esc(node.get("initial_value", ""))}">'
    elif kind == "number_input":
        field = f'<input type="number" {common} value="{_esc(node.get("initial_value", ""))}">'
    elif kind == "datepicker":
        field = f'<input type="date" {common} value="{_esc(node.get("initial_date", ""))}">'
    elif kind == "static_select":
        initial = (node.get("initial_option") or {}).get("value")
        options = "".join(
            f'<option value="{_esc(o.get("value", ""))}" data-option="{_esc(json.dumps(o, ensure_ascii=False))}"'
            f'{" selected" if o.get("value") == initial else ""}>{text_object(o.get("text"), names)}</option>'
            for o in node.get("options") or []
        )
        field = f'<select {common}><option value=""></option>{options}</select>'
    else:
        field = _unknown(str(kind), node)
    hint = f'<div class="sb-hint">{text_object(block.get("hint"), names)}</div>' if block.get("hint") else ""
    error = errors.get(block_id)
    error_html = f'<div class="sb-field-error" data-error-for="{_esc(block_id)}">{_esc(error)}</div>' if error else ""
    optional = " sb-optional" if block.get("optional") else ""
    return (
        f'<div class="sb-input{" sb-has-error" if error else ""}{optional}" data-block-id="{_esc(block_id)}">'
        f'<label for="{_esc(field_id)}">{text_object(block.get("label"), names)}</label>{field}{hint}{error_html}</div>'
    )


def block(node: Mapping[str, Any], names: Mapping[str, str], errors: Mapping[str, str] | None = None) -> str:
    """One block as HTML."""
    kind = str(node.get("type"))
    block_id = str(node.get("block_id", ""))
    if kind == "header":
        inner = f'<h3 class="sb-header">{text_object(node.get("text"), names)}</h3>'
    elif kind == "divider":
        inner = "<hr>"
    elif kind == "section":
        text = f'<div class="sb-text">{text_object(node.get("text"), names)}</div>' if node.get("text") else ""
        fields = "".join(f'<div class="sb-field">{text_object(f, names)}</div>' for f in node.get("fields") or [])
        fields = f'<div class="sb-fields">{fields}</div>' if fields else ""
        accessory = f'<div class="sb-accessory">{element(node["accessory"], block_id, names)}</div>' if node.get("accessory") else ""
        inner = f'<div class="sb-section"><div class="sb-main">{text}{fields}</div>{accessory}</div>'
    elif kind == "context":
        inner = '<div class="sb-context">' + " ".join(element(e, block_id, names) for e in node.get("elements") or []) + "</div>"
    elif kind == "actions":
        inner = '<div class="sb-actions">' + "".join(element(e, block_id, names) for e in node.get("elements") or []) + "</div>"
    elif kind == "image":
        title = f'<div class="sb-image-title">{text_object(node.get("title"), names)}</div>' if node.get("title") else ""
        source = node.get("image_url") or ""
        if not source and isinstance(node.get("slack_file"), dict) and node["slack_file"].get("id"):
            source = f"files/{node['slack_file']['id']}"
        inner = f'{title}<img class="sb-image" src="{_esc(source)}" alt="{_esc(node.get("alt_text", ""))}">'
    elif kind == "input":
        inner = _input(node, names, errors or {})
    else:
        inner = _unknown(kind, node)
    return f'<div class="sb-block sb-{_esc(kind)}" data-block-id="{_esc(block_id)}">{inner}</div>'


def blocks_html(blocks: list[Mapping[str, Any]] | None, names: Mapping[str, str], *, fallback: str = "", errors: Mapping[str, str] | None = None) -> str:
    """A message's or a view's blocks; its ``text`` (mrkdwn) when it has none."""
    if not blocks:
        return f'<div class="sb-block sb-section"><div class="sb-text">{mrkdwn(fallback, names)}</div></div>' if fallback else ""
    return "".join(block(b, names, errors) for b in blocks)
