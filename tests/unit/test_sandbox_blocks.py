"""Block Kit as the sandbox page draws it: every block type the bot sends,
mrkdwn with mentions, links, bold and quotes, escaping, and unknown blocks
shown rather than dropped."""

from bot.sandbox.blocks import blocks_html, mrkdwn

NAMES = {"U0OWNERY": "Y (大件配送)"}


def test_mrkdwn_mentions_links_bold_quotes_and_escapes():
    html = mrkdwn("*SO1* for <@U0OWNERY> &lt;b&gt; see <https://example.com/a_b|the list> or https://x.test/p_1\n&gt; quoted _it_ ~gone~ `code`", NAMES)
    assert "<b>SO1</b>" in html
    assert '<span class="sb-mention">@Y (大件配送)</span>' in html
    assert "&lt;b&gt;" in html and "<b>&lt;" not in html  # Slack's escapes stay text
    assert '<a href="https://example.com/a_b" target="_blank" rel="noopener noreferrer">the list</a>' in html
    assert '<a href="https://x.test/p_1"' in html  # a bare link, its underscore untouched
    assert "<blockquote>quoted <i>it</i> <s>gone</s> <code>code</code></blockquote>" in html
    assert "<@" not in html


def test_a_permalink_jumps_inside_the_page():
    html = mrkdwn("<https://rejectbot-test.slack.com/archives/C0LOGISTICS/p1795739400000200|thread>", NAMES)
    assert 'class="sb-permalink" data-channel="C0LOGISTICS" data-ts="1795739400.000200"' in html


def test_markup_in_text_is_never_html():
    html = mrkdwn('<script>alert(1)</script> " onmouseover=x', NAMES)
    assert "<script" not in html and "&quot;" in html


def test_every_block_type_the_bot_sends():
    blocks = [
        {"type": "header", "block_id": "h", "text": {"type": "plain_text", "text": "Digest <1>"}},
        {"type": "section", "block_id": "s", "text": {"type": "mrkdwn", "text": "*a*"},
         "fields": [{"type": "mrkdwn", "text": "f1"}, {"type": "plain_text", "text": "f2"}],
         "accessory": {"type": "button", "action_id": "item.fix", "value": "7", "text": {"type": "plain_text", "text": "Fix"}}},
        {"type": "context", "block_id": "c", "elements": [{"type": "mrkdwn", "text": "_note_"}]},
        {"type": "actions", "block_id": "act-7", "elements": [
            {"type": "button", "action_id": "item.confirm", "value": "7", "style": "primary", "text": {"type": "plain_text", "text": "Confirm"}},
            {"type": "button", "action_id": "dispute.uphold", "value": "7", "text": {"type": "plain_text", "text": "Uphold"},
             "confirm": {"title": {"type": "plain_text", "text": "Sure?"}, "text": {"type": "plain_text", "text": "Really"}}},
        ]},
        {"type": "divider", "block_id": "d"},
        {"type": "image", "block_id": "i", "image_url": "https://example.com/c.png", "alt_text": "chart"},
    ]
    html = blocks_html(blocks, NAMES)
    assert '<h3 class="sb-header">Digest &lt;1&gt;</h3>' in html
    assert '<div class="sb-field"><b>a</b>' not in html and '<div class="sb-text"><b>a</b></div>' in html
    assert html.count('class="sb-field"') == 2
    assert 'data-action-id="item.fix" data-value="7" data-block-id="s"' in html  # the accessory, clickable
    assert 'class="sb-btn sb-primary" data-action-id="item.confirm" data-value="7" data-block-id="act-7"' in html
    assert "data-confirm=" in html and "Sure?" in html
    assert "<i>note</i>" in html and "<hr>" in html and 'alt="chart"' in html


def test_an_unknown_block_is_shown_plainly():
    html = blocks_html([{"type": "rich_text", "block_id": "r", "elements": [{"type": "rich_text_section", "elements": [{"type": "text", "text": "kept"}]}]}], NAMES)
    assert "[rich_text]" in html and "kept" in html


def test_a_message_without_blocks_shows_its_text():
    assert "<b>hi</b>" in blocks_html([], NAMES, fallback="*hi*")


def test_a_modal_input_shows_its_error_on_the_field():
    block = {"type": "input", "block_id": "dispute.reason", "label": {"type": "plain_text", "text": "Reason"},
             "element": {"type": "plain_text_input", "action_id": "dispute.reason_input", "multiline": True}}
    html = blocks_html([block], NAMES, errors={"dispute.reason": "Please give a reason"})
    assert 'class="sb-input sb-has-error"' in html and "<textarea" in html
    assert 'data-error-for="dispute.reason">Please give a reason</div>' in html


def test_only_web_and_mail_addresses_become_links():
    html = mrkdwn("<javascript:alert(1)|click me> < JavaScript:x> <data:text/html,hi|d> <vbscript:x|v> <mailto:a@b.test|mail>", NAMES)
    assert "href" in html and html.count("<a ") == 1  # the mailto: alone
    assert 'href="javascript' not in html.lower() and 'href=" javascript' not in html.lower() and 'href="data:' not in html
    assert "click me" in html  # the label is kept, as text
    assert '<a href="mailto:a@b.test"' in html


def test_a_nul_in_text_cannot_stand_for_a_held_link():
    html = mrkdwn("zero \x000\x00 and \x005\x00 <https://x.test|link>", NAMES)  # the holder's own marks, typed by a person
    assert "\x00" not in html
    assert html.count("<a ") == 1 and "zero 0 and 5 " in html


def test_emoji_codes_the_bot_writes_are_drawn_as_emoji():
    html = mrkdwn(":page_facing_up: Work contact letter · :warning: at 08:30:15 :no_such_code:", NAMES)
    assert html.startswith("📄 Work contact letter · ⚠️ at 08:30:15 :no_such_code:")
