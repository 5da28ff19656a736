"""The sandbox's HTTP endpoints without a browser: what a person does on the
page reaches the real app as Slack's signed request, and what the page gets
back is what the fake Slack holds. Runs wherever Chromium is missing."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.request import urlopen

import pytest

from bot.demo import CHANNEL
from bot.ids import CONFIRM_REACTION, ActionId, BlockId
from bot.sandbox.state import PEOPLE, Sandbox
from bot.sandbox.web import announce, create_web, serve

ROOT = Path(__file__).resolve().parents[2]
START_WAIT = 60  # seconds `rejectbot demo --web` may take to build its world and print its address


@pytest.fixture
def sandbox(tmp_path):
    box = Sandbox(locale="en", workdir=tmp_path)
    yield box
    box.close()


@pytest.fixture
def client(sandbox):
    return create_web(sandbox).test_client()


def _state(client, user: str) -> dict:
    response = client.get(f"/api/state?user={user}")
    assert response.status_code == 200
    return response.get_json()


def _digest_of(sandbox: Sandbox, user: str) -> dict:
    return next(m for m in sandbox.world.fake.channel_history(CHANNEL) if user in str(m["blocks"][0]))


def _button(message: dict, action_id: str) -> dict:
    for block in message["blocks"]:
        for element in [block.get("accessory"), *(block.get("elements") or [])]:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return {"action_id": action_id, "value": element["value"], "block_id": block["block_id"]}
    raise AssertionError(f"no {action_id} button")


def test_the_page_and_its_state_show_the_digest_in_the_channel(client, sandbox):
    page = client.get("/")
    assert page.status_code == 200
    assert "rejectbot sandbox" in page.get_data(as_text=True)
    for user in PEOPLE:
        assert user in page.get_data(as_text=True)  # the switcher's people

    state = _state(client, "U0OWNERY")
    messages = state["conversations"][CHANNEL]["messages"]
    assert len(messages) == len(sandbox.world.fake.channel_history(CHANNEL)) >= 2
    assert 'data-action-id="item.confirm"' in messages[0]["html"]
    assert state["now"] == "Fri 2026-11-27 08:30"
    assert client.get(f"/api/state?user=U0OWNERY&since={state['version']}").get_json() == {"version": state["version"], "unchanged": True}
    assert client.get("/api/state?user=UNOBODY").status_code == 400


def test_a_click_confirms_the_item_and_the_message_changes(client, sandbox):
    message = _digest_of(sandbox, "U0OWNERY")
    button = _button(message, ActionId.CONFIRM)
    response = client.post("/api/click", json={"user": "U0OWNERY", "channel": CHANNEL, "ts": message["ts"], **button})
    assert response.status_code == 200

    click = sandbox.world.fake.calls_to("chat.update")[-1]
    assert click.params["ts"] == message["ts"]
    html = next(m["html"] for m in _state(client, "U0OWNERY")["conversations"][CHANNEL]["messages"] if m["ts"] == message["ts"])
    assert f'data-block-id="state-{button["value"]}"' in html
    assert "confirmed" in html


def test_a_dispute_modal_answers_a_blank_reason_on_its_field_then_closes(client, sandbox):
    message = _digest_of(sandbox, "U0OWNERY")
    button = _button(message, ActionId.DISPUTE)
    client.post("/api/click", json={"user": "U0OWNERY", "channel": CHANNEL, "ts": message["ts"], **button})
    modal = _state(client, "U0OWNERY")["modal"]
    assert modal and modal["title"]
    assert _state(client, "U0OWNERZ")["modal"] is None  # only the one who clicked sees it

    blank = client.post("/api/submit", json={"user": "U0OWNERY", "view_id": modal["view_id"], "values": {BlockId.DISPUTE_REASON: {ActionId.DISPUTE_REASON: ""}}})
    errors = blank.get_json()["result"]
    assert list(errors) == [BlockId.DISPUTE_REASON]
    assert f'data-error-for="{BlockId.DISPUTE_REASON}"' in _state(client, "U0OWNERY")["modal"]["html"]

    values = {BlockId.DISPUTE_REASON: {ActionId.DISPUTE_REASON: "The driver called; the customer refused the goods."}}
    assert client.post("/api/submit", json={"user": "U0OWNERY", "view_id": modal["view_id"], "values": values}).get_json()["result"] == {}
    assert _state(client, "U0OWNERY")["modal"] is None
    assert "disputed" in sandbox.world.fake.messages[(CHANNEL, message["ts"])]["text"] or any(
        "disputed" in str(b) for b in sandbox.world.fake.messages[(CHANNEL, message["ts"])]["blocks"])


def test_a_command_answers_only_the_person_who_typed_it(client):
    assert client.post("/api/command", json={"user": "U0OWNERY", "channel": CHANNEL, "text": "/reject status"}).status_code == 200
    assert _state(client, "U0OWNERY")["conversations"][CHANNEL]["ephemerals"]
    assert not _state(client, "U0OWNERZ")["conversations"][CHANNEL]["ephemerals"]


def test_a_reaction_is_shown_on_the_message_and_sent_as_the_event(client, sandbox):
    message = _digest_of(sandbox, "U0OWNERY")
    body = {"user": "U0OWNERY", "channel": CHANNEL, "ts": message["ts"], "name": CONFIRM_REACTION}
    assert client.post("/api/react", json={**body, "added": True}).get_json()["result"] is True
    shown = next(m for m in _state(client, "U0OWNERY")["conversations"][CHANNEL]["messages"] if m["ts"] == message["ts"])
    assert shown["reactions"] == [{"name": CONFIRM_REACTION, "emoji": "✅", "count": 1, "mine": True}]
    assert 'data-action-id="item.confirm"' not in shown["html"]  # the ✅ confirmed the message's items
    assert client.post("/api/react", json={**body, "added": True}).get_json()["result"] is False  # once per person

    assert client.post("/api/react", json={**body, "added": False}).get_json()["result"] is True
    shown = next(m for m in _state(client, "U0OWNERY")["conversations"][CHANNEL]["messages"] if m["ts"] == message["ts"])
    assert shown["reactions"] == []


def test_a_thread_reply_is_shown_in_its_thread(client, sandbox):
    message = _digest_of(sandbox, "U0OWNERZ")
    assert client.post("/api/reply", json={"user": "U0OWNERZ", "channel": CHANNEL, "thread_ts": message["ts"], "text": "checking"}).status_code == 200
    shown = next(m for m in _state(client, "U0OWNERZ")["conversations"][CHANNEL]["messages"] if m["ts"] == message["ts"])
    assert [(r["who"], r["html"]) for r in shown["replies"]][-1][1].endswith("checking</div></div>")
    assert client.post("/api/reply", json={"user": "U0OWNERZ", "channel": CHANNEL, "text": " "}).status_code == 400


def test_the_home_tab_is_published_when_opened(client):
    assert _state(client, "U0OWNERY")["home"] is None
    client.post("/api/home", json={"user": "U0OWNERY"})
    assert "大件配送" in _state(client, "U0OWNERY")["home"]


def test_the_clock_brings_the_escalation_to_the_operations_head(client, sandbox):
    assert client.post("/api/clock", json={"user": "U0OWNERY", "how": "due"}).get_json()["result"] >= 1  # Z reminded at 11:00
    assert _state(client, "U0OPSHEAD")["now"] == "Fri 2026-11-27 11:00"
    client.post("/api/clock", json={"user": "U0OWNERY", "how": "hour"})
    client.post("/api/clock", json={"user": "U0OWNERY", "how": "hour"})
    dm = _state(client, "U0OPSHEAD")["conversations"]["DU0OPSHEAD"]["messages"]
    assert any('data-action-id="escalation.remind"' in m["html"] for m in dm)

    client.post("/api/clock", json={"user": "U0OWNERY", "how": "morning"})
    assert _state(client, "U0OPSHEAD")["now"] == "Mon 2026-11-30 08:30"  # over the weekend
    assert client.post("/api/clock", json={"user": "U0OWNERY", "how": "later"}).status_code == 400


def test_the_replay_plays_the_case_study_to_the_letter_and_its_files_download(client, sandbox):
    assert client.post("/api/replay", json={"user": "U0CSLEAD"}).status_code == 200
    assert client.post("/api/clock", json={"user": "U0CSLEAD", "how": "hour"}).status_code in (200, 409)  # 409 while it plays
    deadline = time.monotonic() + 240
    while _state(client, "U0CSLEAD")["replaying"]:
        assert time.monotonic() < deadline, "the replay did not end"
        time.sleep(0.2)
    state = _state(client, "U0CSLEAD")
    assert state["now"].startswith("Tue 2026-12-01")
    assert "letters" in state["story"]

    boss = _state(client, "U0LOGIBOSS")["conversations"]["DU0LOGIBOSS"]["messages"]
    names = [f["name"] for m in boss for f in m["files"]]
    assert any(n.endswith(".docx") for n in names) and any(n.endswith(".pdf") for n in names)
    files = {f["name"]: f for f in sandbox.world.fake.files()}
    for name in [n for n in files if n.endswith((".png", ".xlsx", ".docx", ".pdf"))]:
        file = files[name]
        got = client.get(f"/files/{file['id']}?download=1")
        assert got.status_code == 200 and got.data == file["content"]
        assert got.headers["Content-Disposition"].startswith("attachment")
    assert {n.rsplit(".", 1)[-1] for n in files} >= {"png", "xlsx", "docx", "pdf"}
    assert client.get("/files/F0NONE").status_code == 404


def test_demo_web_serves_the_page_on_127_0_0_1_says_so_and_stops_on_ctrl_c(tmp_path):
    env = {**os.environ, "BOT_LOCALE": "en", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, "-m", "bot.cli", "demo", "--web"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()  # read aside: a server that never prints fails the test in time, and its pipe never fills
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    try:
        first = lines.get(timeout=START_WAIT)
        second = lines.get(timeout=START_WAIT)
        address = re.search(r"http://127\.0\.0\.1:\d+/", first)
        assert address, first
        assert "127.0.0.1" in second and "only" in second
        with urlopen(address.group(0), timeout=30) as page:
            assert page.status == 200
            assert "rejectbot sandbox" in page.read().decode()
        process.send_signal(signal.SIGINT)  # Ctrl-C
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


def test_a_button_in_the_home_tab_is_clicked_there(client, sandbox):
    client.post("/api/home", json={"user": "U0OWNERY"})
    home = sandbox.world.fake.home_view("U0OWNERY")
    button = _button(home, ActionId.CONFIRM)
    assert client.post("/api/click", json={"user": "U0OWNERY", **button}).status_code == 200
    digest = next(m for m in sandbox.world.fake.messages.values() if any(b.get("block_id") == f"item-{button['value']}" for b in m["blocks"]))
    assert any(b.get("block_id") == f"state-{button['value']}" and "confirmed" in str(b) for b in digest["blocks"])
    assert client.post("/api/click", json={"user": "U0OWNERZ", **button}).status_code == 404  # Z has no Home yet


def test_a_person_acts_only_in_the_channel_and_their_own_dm(client, sandbox):
    message = _digest_of(sandbox, "U0OWNERY")
    calls = len(sandbox.world.fake.calls)
    for path, body in [
        ("/api/reply", {"channel": "C0ELSEWHERE", "text": "hi"}),
        ("/api/reply", {"channel": "DU0OWNERZ", "text": "hi"}),  # someone else's DM
        ("/api/command", {"channel": "DU0OWNERZ", "text": "/reject status"}),
        ("/api/command", {"channel": "C0ELSEWHERE", "text": "/reject status"}),
    ]:
        answer = client.post(path, json={"user": "U0OWNERY", **body})
        assert answer.status_code == 400, (path, body)
        assert answer.get_json()["error"] == "That conversation is not one this person is in."  # said plainly
    for path, body in [
        ("/api/reply", {"channel": CHANNEL, "thread_ts": "1.000001", "text": "hi"}),  # no such thread
        ("/api/react", {"channel": CHANNEL, "ts": "1.000001", "name": CONFIRM_REACTION}),  # no such message
    ]:
        assert client.post(path, json={"user": "U0OWNERY", **body}).status_code == 404, (path, body)
    assert len(sandbox.world.fake.calls) == calls  # the app was sent nothing
    assert not [m for m in sandbox.world.fake.messages.values() if m.get("user") == "U0OWNERY"]
    assert _state(client, "U0OWNERY")["conversations"][CHANNEL]["messages"][0]["ts"] == message["ts"]


def test_a_click_is_only_on_a_button_the_message_shows(client, sandbox):
    message = _digest_of(sandbox, "U0OWNERY")
    button = _button(message, ActionId.CONFIRM)
    where = {"user": "U0OWNERY", "channel": CHANNEL, "ts": message["ts"]}
    updates = len(sandbox.world.fake.calls_to("chat.update"))
    for forged in [{**button, "action_id": "nope.nope"}, {**button, "value": "999999"}, {**button, "block_id": "elsewhere"}]:
        assert client.post("/api/click", json={**where, **forged}).status_code == 404, forged
    assert len(sandbox.world.fake.calls_to("chat.update")) == updates
    client.post("/api/home", json={"user": "U0OWNERY"})
    home = _button(sandbox.world.fake.home_view("U0OWNERY"), ActionId.CONFIRM)
    assert client.post("/api/click", json={"user": "U0OWNERY", **home, "action_id": "nope.nope"}).status_code == 404


def test_text_a_person_types_reaches_the_app_escaped_as_slack_sends_it_and_shows_as_text(client, sandbox):
    message = _digest_of(sandbox, "U0OWNERZ")
    typed = '<img src=x onerror=alert(1)> <javascript:alert(1)|click> & "q"'
    assert client.post("/api/reply", json={"user": "U0OWNERZ", "channel": CHANNEL, "thread_ts": message["ts"], "text": typed}).status_code == 200
    stored = next(m for m in sandbox.world.fake.messages.values() if m.get("user") == "U0OWNERZ")
    assert stored["text"] == '&lt;img src=x onerror=alert(1)&gt; &lt;javascript:alert(1)|click&gt; &amp; "q"'
    shown = next(m for m in _state(client, "U0OWNERZ")["conversations"][CHANNEL]["messages"] if m["ts"] == message["ts"])
    html = shown["replies"][-1]["html"]
    assert "<img" not in html and "<a " not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "&amp;" in html


def test_a_modal_is_submitted_only_by_its_person_with_its_own_fields(client, sandbox):
    message = _digest_of(sandbox, "U0OWNERY")
    client.post("/api/click", json={"user": "U0OWNERY", "channel": CHANNEL, "ts": message["ts"], **_button(message, ActionId.DISPUTE)})
    view_id = _state(client, "U0OWNERY")["modal"]["view_id"]
    reason = {BlockId.DISPUTE_REASON: {ActionId.DISPUTE_REASON: "A reason Z should not be able to give."}}
    calls = len(sandbox.world.fake.calls)
    assert client.post("/api/submit", json={"user": "U0OWNERZ", "view_id": view_id, "values": reason}).status_code == 404
    for values in [{BlockId.DISPUTE_REASON: None}, {BlockId.DISPUTE_REASON: "x"}, {BlockId.DISPUTE_REASON: [1]},
                   {BlockId.DISPUTE_REASON: {ActionId.DISPUTE_REASON: 5}}, {BlockId.DISPUTE_REASON: {ActionId.DISPUTE_REASON: {"x": 1}}}]:
        answer = client.post("/api/submit", json={"user": "U0OWNERY", "view_id": view_id, "values": values})
        assert answer.status_code == 400 and answer.is_json, values
    assert client.post("/api/submit", json={"user": "U0OWNERY", "view_id": view_id, "values": {BlockId.DISPUTE_REASON: {"other": "x"}}}).status_code == 404
    assert len(sandbox.world.fake.calls) == calls  # the app was sent none of them
    assert _state(client, "U0OWNERY")["modal"]["view_id"] == view_id


def test_the_page_loads_only_its_own_files_and_runs_no_inline_script(client, sandbox):
    file = sandbox.world.fake.files()[0]
    for path in ["/", "/static/sandbox.js", "/api/state?user=U0OWNERY", f"/files/{file['id']}", "/files/F0NONE"]:
        headers = client.get(path).headers
        policy = headers.get("Content-Security-Policy", "")
        assert "default-src 'self'" in policy and "unsafe-inline" not in policy, path
        assert headers.get("X-Content-Type-Options") == "nosniff", path
    page = client.get("/").get_data(as_text=True)
    assert not re.search(r"(src|href)=\"(https?:)?//", page)  # nothing from elsewhere


def test_what_demo_web_prints_names_the_address_it_listens_on(sandbox):
    t = sandbox.catalog.t
    assert announce(t, "127.0.0.1", 8000)[:2] == ["The rejectbot sandbox is at http://127.0.0.1:8000/",
                                                   "It listens only on this computer (127.0.0.1); nobody else can reach it."]
    assert announce(t, "::1", 8000)[:2] == ["The rejectbot sandbox is at http://[::1]:8000/",
                                             "It listens only on this computer (::1); nobody else can reach it."]
    assert "anyone who can reach this machine" in announce(t, "0.0.0.0", 8000)[1]


def test_the_page_script_writes_no_words_of_its_own(client):
    script = client.get("/static/sandbox.js").get_data(as_text=True)
    assert not re.search(r"\d\}? ?KB|[\"'`>][A-Z][a-z]+ [a-z]+[<\"'`]", script)  # sizes, labels: from the catalog (T.…)
    assert "size_kb" in script


def test_the_clock_alone_brings_the_monthly_notice_and_the_letter(client, sandbox):
    """Only "Next thing due" and "+1 hour", and the CS lead's Approve: no replay."""
    def sent_files(user: str) -> list[str]:
        state = _state(client, user)
        return [f["name"] for conv in state["conversations"].values() for m in conv["messages"] for r in [m, *m["replies"]] for f in r["files"]]

    for _ in range(12):
        if any(f'data-action-id="{ActionId.LETTER_APPROVE}"' in m["html"] for m in _state(client, "U0CSLEAD")["conversations"]["DU0CSLEAD"]["messages"]):
            break
        assert client.post("/api/clock", json={"user": "U0CSLEAD", "how": "due"}).status_code == 200
    assert _state(client, "U0CSLEAD")["now"].startswith("Tue 2026-12-01")  # the first working day of December
    assert any(n.endswith("-chart.png") for n in sent_files("U0CSLEAD"))  # the monthly notice's chart, in the channel
    draft = next(m for (channel, _), m in sandbox.world.fake.messages.items()
                 if channel == "DU0CSLEAD" and f'"{ActionId.LETTER_APPROVE}"' in json.dumps(m.get("blocks")))
    approve = _button(draft, ActionId.LETTER_APPROVE)
    assert client.post("/api/click", json={"user": "U0CSLEAD", "channel": "DU0CSLEAD", "ts": draft["ts"], **approve}).status_code == 200
    client.post("/api/clock", json={"user": "U0CSLEAD", "how": "hour"})
    assert {n.rsplit(".", 1)[-1] for n in sent_files("U0OWNERZ")} >= {"docx", "pdf"}  # the letter reached Z


def test_demo_web_says_plainly_when_it_cannot_listen(capsys):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        port = taken.getsockname()[1]
        assert serve(locale="en", host="127.0.0.1", port=port) == 2
        said = capsys.readouterr()
        assert f"cannot listen on 127.0.0.1, port {port}" in said.err and "Traceback" not in said.err + said.out
        assert serve(locale="en", host="no-such-host.invalid", port=0) == 2
        assert "cannot listen on no-such-host.invalid" in capsys.readouterr().err
    finally:
        taken.close()


def test_a_reaction_is_one_the_page_offers_or_already_on_the_message(client, sandbox):
    message = _digest_of(sandbox, "U0OWNERY")
    body = {"user": "U0OWNERY", "channel": CHANNEL, "ts": message["ts"]}
    calls = len(sandbox.world.fake.calls)
    for name in ["<img src=x onerror=alert(1)>", "x" * 5000, "", "no_such_emoji"]:
        assert client.post("/api/react", json={**body, "name": name}).status_code == 400, name
    assert not sandbox.world.fake.messages[(CHANNEL, message["ts"])].get("reactions")
    assert len(sandbox.world.fake.calls) == calls
    assert client.post("/api/react", json={**body, "name": "eyes"}).status_code == 200
