"""``rejectbot demo``: the real app, offline.

The same ``create_app``, handlers, services and database code as production,
against our fake Slack Web API on a free local port, a temporary SQLite
database and the bundled sample export. Users' clicks, commands and
reactions are signed requests dispatched into the app exactly as Slack would
send them; the terminal shows the conversation the fake Slack received.

One working day on a fixed clock (``DAY``, so the demo never depends on the
day it runs): Y answers his list in the morning; Z stays silent, as in the
case study. The clock moves on and the scheduler's ``Services.tick`` runs
between the steps and through the afternoon, so what the bot does on its own
— Z's nudge, the escalation DM to the operations-centre head, Z told in his
thread, the 18:00 deadline deeming his items — is the real sweep's work,
printed as it reached the fake Slack.

Then the month ends (``_month_end``): Monday's follow-ups, and on the first
working day of December the monthly notice for November (its trend drawn
from months of history that ``bot.demo_history`` writes before the demo
starts), with its chart and workbook; the letter Z's silence earns him; a
refusal when someone other than the CS lead approves it; the CS lead's
approval, its delivery with the DOCX and PDF and their hashes; Z's
acknowledgment.
"""

from __future__ import annotations

import json
import re
import tempfile
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

from slack_bolt.response import BoltResponse

from bot.app import Bot, create_app
from bot.clock import FixedClock
from bot.config import Settings
from bot.core.routing import CalendarOverrides, Owner, Penalties, Routing
from bot.demo_history import seed_history
from bot.fakeslack import FakeSlack, SlackSigner, block_actions, event_callback, reaction_event, slash_command, view_submission
from bot.fakeslack.requests import app_home_opened_event
from bot.gateway import make_client
from bot.i18n import Catalog
from bot.ids import CONFIRM_REACTION, ActionId, BlockId, ViewId
from storage.db import SessionFactory, make_engine, make_session_factory, upgrade

SAMPLE = Path(__file__).parent / "demo_data" / "callbacks-2026-11-26.csv"
TZ = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 27)  # a Friday; a fixed day in 2026, which the China working-day calendar covers
TICK_EVERY = timedelta(minutes=5)  # the scheduler wakes the bot every minute (bot/scheduler.py); the demo, to stay fast, every five
MAX_UPDATE_LINES = 3  # changed item states printed per message update
HOME_LINES = 16  # lines of a Home tab printed
SECRET = "demo-signing-secret"
CHANNEL = "C0LOGISTICS"
NAMES = {"U0OWNERY": "Y (大件配送)", "U0OWNERZ": "Z (小件配送)", "UBOT": "rejectbot"}  # display names
NAME_KEYS = {"U0CSLEAD": "demo.name_cs_lead", "U0OPSHEAD": "demo.name_ops_head", "U0LOGIBOSS": "demo.name_logistics_head"}
CS_AGENTS = {"王丽": "U0CS0001", "陈静": "U0CS0002"}
DEMO_ROUTING = Routing(
    channel=CHANNEL,
    # December reaches into 2027, whose official schedule the installed chinesecalendar lacks: the demo opts
    # in to Monday–Friday for it (a production routing file enters the schedule once it is published)
    calendar=CalendarOverrides(assume_weekdays=frozenset({2027})),
    penalties=Penalties(logistics_per_item=20),  # yuan per mistaken rejection, shown in the monthly notice
    cs_lead="U0CSLEAD",
    cs_agents=CS_AGENTS,
    owners=(
        Owner(name="大件配送", user="U0OWNERY", categories=("large",), escalation=("U0OPSHEAD", "U0LOGIBOSS")),
        Owner(name="小件配送", user="U0OWNERZ", categories=("small",),
              branches=("杭州分公司", "南京分公司", "苏州分公司", "无锡分公司"), escalation=("U0OPSHEAD", "U0LOGIBOSS")),
    ),
)
WIDTH = 100


def display_names(catalog: Catalog) -> dict[str, str]:
    """Each demo user's display name, as Slack would show their mentions."""
    names = dict(NAMES)
    names.update({user: catalog.t(key) for user, key in NAME_KEYS.items()})
    names.update({user: catalog.t("demo.name_cs_agent", name=name) for name, user in CS_AGENTS.items()})
    return names


def _plain(mrkdwn: str, names: dict[str, str]) -> str:
    text = re.sub(r"<@(\w+)>", lambda m: "@" + names.get(m.group(1), m.group(1)), mrkdwn)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


_CJK = r"\u2e80-\u9fff\u3000-\u303f\uff00-\uffef"
_TOKENS = re.compile(rf"[{_CJK}]|\s+|[^\s{_CJK}]+")
_NO_LINE_START = set("，。、：；！？）」』》”’,.:;!?)")  # punctuation stays with what it follows


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def _wrap(line: str, width: int) -> list[str]:
    """``line`` in lines of at most ``width`` terminal columns: breaks at
    spaces, or between Chinese characters (two columns each). Punctuation
    never starts a line (it may hang one character over the width); a word
    longer than a line (a link) gets a line of its own."""
    lines: list[str] = []
    current = ""
    for token in _TOKENS.findall(line):
        if token.isspace():
            current += token
            continue
        fits = _width(current.rstrip() + token) <= width if current.strip() else True
        if fits or token[0] in _NO_LINE_START:
            current += token
        else:
            lines.append(current.rstrip())
            current = token
    lines.append(current.rstrip())
    return lines


def _indent(text: str, names: dict[str, str], prefix: str = "    │ ") -> str:
    lines = []
    for line in _plain(text, names).splitlines() or [""]:
        lines += _wrap(line, WIDTH - _width(prefix))
    return "\n".join(prefix + line for line in lines)


def _state_line(block: dict) -> str:
    """An item's state line: a context line, or a section with a [button]."""
    if block["type"] == "section":
        accessory = block.get("accessory") or {}
        button = f"  [ {accessory['text']['text']} ]" if accessory.get("type") == "button" else ""
        return block["text"]["text"] + button
    return " ".join(e.get("text", "") for e in block["elements"])


def render_blocks(blocks: list[dict], catalog: Catalog, *, max_items: int | None = None) -> str:
    """Block Kit as terminal text: sections, context lines and [buttons]."""
    names = display_names(catalog)
    out: list[str] = []
    items_shown = 0
    hidden = 0
    for block in blocks:
        is_item = block.get("block_id", "").startswith("item-")
        if is_item:
            items_shown += 1
        if max_items is not None and items_shown > max_items and (is_item or block.get("block_id", "")[:4] in ("act-", "stat")):
            hidden += is_item
            continue
        kind = block["type"]
        if kind == "header":
            out.append(_indent("*" + block["text"]["text"] + "*", names))
        elif kind == "divider":
            out.append("    │ " + "─" * 40)
        elif kind == "section" and block.get("block_id", "").startswith("state-"):
            out.append(_indent(_state_line(block), names, "    │   ↳ "))
        elif kind == "section":
            out.append(_indent(block["text"]["text"] if block.get("text") else "", names))
            for field in block.get("fields") or []:
                out.append(_indent(field["text"], names, "    │   "))
        elif kind == "context":
            out.append(_indent(" ".join(e.get("text", "") for e in block["elements"]), names, "    │   ↳ "))
        elif kind == "actions":
            out.append("    │   " + "  ".join(f"[ {e['text']['text']} ]" for e in block["elements"]))
        elif kind == "input":
            out.append(f"    │ {block['label']['text']}: [______________]")
    if hidden:
        out.append(catalog.t("demo.more_items", count=hidden))
    return "\n".join(out)


class Transcript:
    """Prints what the fake Slack received since the last call."""

    def __init__(self, fake: FakeSlack, catalog: Catalog) -> None:
        self.fake = fake
        self.t = catalog.t
        self.catalog = catalog
        self.names = display_names(catalog)
        self.seen = 0
        self.versions: dict[tuple[str, str], list[dict]] = {}  # each message's blocks as last shown

    def _where(self, channel: str, thread_ts: str | None) -> str:
        user = self.fake.dm_user(channel)
        where = f"#{channel}" if user is None else self.t("demo.dm", person=self.names.get(user, user))
        return where + (self.t("demo.in_thread") if thread_ts else "")

    def _changed_states(self, channel: str, ts: str, blocks: list[dict], max_lines: int | None) -> list[str] | None:
        """The item state lines an update changed (new or different), at most
        ``max_lines``; None when it changed nothing people see (the same blocks again)."""
        if self.versions.get((channel, ts)) == blocks:
            return None
        before = {b.get("block_id"): b for b in self.versions.get((channel, ts), [])}
        self.versions[(channel, ts)] = blocks
        changed = [
            b for b in blocks
            if b.get("block_id", "").startswith(("state-", "review-state-")) and before.get(b["block_id"]) != b
        ]
        lines = [_indent(_state_line(block), self.names) for block in changed[:max_lines]]
        if max_lines is not None and len(changed) > max_lines:
            lines.append(self.catalog.t("demo.more_items", count=len(changed) - max_lines))
        return lines

    def _shared(self, call) -> bool:
        return call.error is None and call.status == 200

    def _show_files(self, params: dict) -> None:
        """A file shared by the upload flow: where, what, and its comment."""
        print(self.t("demo.file_shared", where=self._where(params["channel_id"], params.get("thread_ts"))))
        if params.get("initial_comment"):
            print(_indent(params["initial_comment"], self.names))
        files = params["files"] if isinstance(params["files"], list) else json.loads(params["files"])
        stored = {f["id"]: f for f in self.fake.files()}
        for entry in files:
            size = stored.get(entry["id"], {}).get("size", 0)
            name = stored.get(entry["id"], {}).get("name", entry.get("title", ""))
            print(f"    │ 📎 {name} ({max(1, round(size / 1024))} KB)")

    def show(self, *, max_items: int | None = 3, max_updates: int | None = None, at: str | None = None, homes: bool = False) -> int:
        """Print the calls since the last ``show``, each headed by ``at`` (the
        clock's time) when given; the number of calls printed."""
        calls = self.fake.calls
        shown = 0
        for call in calls[self.seen:]:
            p = call.params
            if call.method not in ("chat.postMessage", "chat.update", "response_url", "chat.postEphemeral", "views.open", "files.completeUploadExternal"):
                if not (homes and call.method == "views.publish" and call.error is None):
                    continue  # the Home tabs the bot keeps up to date are shown only when someone opens theirs
            if call.method == "files.completeUploadExternal" and not self._shared(call):
                continue  # refused by Slack: nothing was shared
            changed = None
            if call.method == "chat.update":
                changed = self._changed_states(p["channel"], p["ts"], p.get("blocks", []), max_updates)
                if changed is None:
                    continue
            if at is not None and not shown:
                print(self.t("demo.at", time=at))
            shown += 1
            if call.method == "chat.postMessage":
                print(self.t("demo.post", where=self._where(p["channel"], p.get("thread_ts"))))
                print(render_blocks(p["blocks"], self.catalog, max_items=max_items) if p.get("blocks") else _indent(p["text"], self.names))
            elif call.method == "chat.update":
                user = self.fake.dm_user(p["channel"])
                where = f"#{p['channel']}" if user is None else self.t("demo.dm_with", person=self.names.get(user, user))
                print(self.t("demo.updated", ts=p["ts"], where=where))
                for line in changed:
                    print(line)
                if not any(b.get("block_id", "").startswith(("state-", "review-state-")) for b in p.get("blocks") or []):
                    print(_indent(p.get("text", ""), self.names))  # a message that is not an item list: its new text
            elif call.method == "response_url" or call.method == "chat.postEphemeral":
                print(self.t("demo.ephemeral"))
                print(_indent(p.get("text", ""), self.names))
            elif call.method == "views.publish":
                print(self.t("demo.home", person=self.names.get(p["user_id"], p["user_id"])))
                lines = render_blocks(p["view"]["blocks"], self.catalog).splitlines()
                print("\n".join(lines[:HOME_LINES]))
                if len(lines) > HOME_LINES:
                    print(self.t("demo.more_lines", count=len(lines) - HOME_LINES))
            elif call.method == "files.completeUploadExternal":
                self._show_files(p)
            elif call.method == "views.open":
                view = p["view"]
                print(self.t("demo.modal", title=view["title"]["text"]))
                print(render_blocks(view["blocks"], self.catalog))
            print()
        self.seen = len(calls)
        return shown


def _say(text: str) -> None:
    print("━" * WIDTH)
    print(text)
    print("━" * WIDTH)


class People:
    """What people do in Slack, as signed requests dispatched into the app."""

    def __init__(self, bot, fake: FakeSlack, signer: SlackSigner) -> None:
        self.bot, self.fake, self.signer = bot, fake, signer
        self.hooks = 0
        self.hook_owners: dict[str, tuple[str, str]] = {}  # response_url name -> (user, channel) it answers

    def _response_url(self, user: str, channel: str, ts: str | None = None) -> str:
        self.hooks += 1
        name = f"r{self.hooks}"
        self.hook_owners[name] = (user, channel)
        return self.fake.response_url(name, channel=channel, ts=ts)

    def command(self, user: str, text: str, *, channel: str = CHANNEL) -> BoltResponse:
        return self.bot.app.dispatch(slash_command(
            self.signer, text=text, user_id=user, channel_id=channel, response_url=self._response_url(user, channel),
        ).to_bolt())

    def click(self, user: str, action_id: str, value: str, block_id: str, channel: str, message: dict) -> BoltResponse:
        return self.bot.app.dispatch(block_actions(
            self.signer, user_id=user, action_id=action_id, value=value, block_id=block_id, channel_id=channel,
            message_ts=message["ts"], message=message, response_url=self._response_url(user, channel, message["ts"]),
        ).to_bolt())

    def submit_last_modal(self, user: str, callback_id: str, block_id: str, action_id: str, text: str) -> None:
        modal = self.fake.calls_to("views.open")[-1].params["view"]
        self.bot.app.dispatch(view_submission(
            self.signer, user_id=user, callback_id=callback_id, private_metadata=modal["private_metadata"],
            values={block_id: {action_id: text}},
        ).to_bolt())

    def event(self, event: dict, *, event_id: str) -> int:
        """An Events API event (a file dropped in a DM, the Home tab opened), signed and dispatched."""
        return self.bot.app.dispatch(event_callback(self.signer, event=event, event_id=event_id).to_bolt()).status

    def react(self, user: str, ts: str, *, event_id: str, retry_num: int | None = None) -> int:
        event = reaction_event(kind="reaction_added", user=user, reaction=CONFIRM_REACTION, channel=CHANNEL, ts=ts)
        request = event_callback(self.signer, event=event, event_id=event_id, retry_num=retry_num,
                                 retry_reason="http_timeout" if retry_num else None)
        return self.bot.app.dispatch(request.to_bolt()).status


def _items_of(message: dict) -> list[str]:
    return [b["block_id"][5:] for b in message["blocks"] if b.get("block_id", "").startswith("item-")]


def run_demo(*, locale: str | None = None) -> int:
    play(locale=locale)
    return 0


class Played(NamedTuple):
    """What a run of the demo leaves: the fake Slack it ran against (closed;
    its recorded calls and messages stay readable), and how many calls it
    had received by the end of the demo day (before the month's end)."""

    fake: FakeSlack
    day_one: int


def play(*, locale: str | None = None, workdir: Path | None = None) -> Played:
    """Run the demo, printing the conversation. The database is
    ``workdir / "demo.db"``, kept when ``workdir`` is given (tests read it)."""
    with tempfile.TemporaryDirectory() as tmp:
        return _play(locale or "en", workdir or Path(tmp))


def _play(locale: str, workdir: Path) -> Played:
    with open_world(locale, workdir) as world:
        opening(world)
        day_one = case_study(world)
    return Played(world.fake, day_one)


class World(NamedTuple):
    """The demo's running pieces: the real app against the fake Slack, on a
    fixed clock, and the people who act in it. Also what ``demo --web`` shows."""

    bot: Bot
    fake: FakeSlack
    clock: FixedClock
    people: People
    transcript: Transcript
    session_factory: SessionFactory
    catalog: Catalog


@contextmanager
def open_world(locale: str, workdir: Path) -> Iterator[World]:
    """The app built as production builds it, against a fresh fake Slack and
    the SQLite database ``workdir / "demo.db"``, its clock on the demo day."""
    catalog = Catalog(locale)
    clock = FixedClock(datetime.combine(DAY, time(8, 30), TZ))
    # the fake judges scheduled messages (the digest's warning) by the demo's clock
    # everyone in the workspace reads the demo's language (texts to one person follow their Slack locale)
    people_locale = {user: {"locale": "zh-CN" if locale == "zh_CN" else "en-US"} for user in display_names(catalog)}
    with FakeSlack(clock=lambda: clock.now().timestamp(), users=people_locale) as fake:
        database_url = f"sqlite:///{workdir / 'demo.db'}"
        engine = make_engine(database_url)
        upgrade(engine)
        session_factory = make_session_factory(engine)
        settings = Settings(
            bot_token="xoxb-demo", app_token=None, signing_secret=SECRET, api_url=fake.api_url,
            database_url=database_url, routing_file=workdir / "routing.toml", timezone=TZ, locale=locale,
            slack_pacing=False,  # its fake Slack enforces no rate limits
        )
        bot = create_app(
            settings, client=make_client("xoxb-demo", fake.api_url), session_factory=session_factory,
            clock=clock, routing=DEMO_ROUTING, process_before_response=True,
        )
        transcript = Transcript(fake, catalog)
        transcript.seen = len(fake.calls)  # skip auth.test
        try:
            yield World(bot, fake, clock, People(bot, fake, SlackSigner(SECRET)), transcript, session_factory, catalog)
        finally:
            engine.dispose()


def opening(world: World) -> None:
    """The months of history, then the demo day's morning: the callback export
    dropped into 王丽's DM and imported, and the 08:30 digest."""
    bot, clock, fake, people, transcript, t = world.bot, world.clock, world.fake, world.people, world.transcript, world.catalog.t
    seeded = seed_history(world.session_factory, DEMO_ROUTING, tz=TZ)
    print(t("demo.history", count=seeded) + "\n")

    clock.set(datetime.combine(DAY, time(8, 15), TZ))
    _say(t("demo.step_import", file=SAMPLE.name))
    people.event(fake.upload_as_user("U0CS0001", SAMPLE.name, SAMPLE.read_bytes()), event_id="Ev0UPLOAD1")
    bot.services.run_imports()  # under `rejectbot run`, the import runner's thread
    transcript.show()
    clock.set(datetime.combine(DAY, time(8, 30), TZ))

    _say(t("demo.step_digest"))
    outcome = bot.services.post_daily_digest()
    transcript.show()
    print(t("demo.digest_summary", items=outcome.items, messages=outcome.messages))


def case_study(world: World) -> int:
    """The rest of the case study after the digest: Y answers and disputes, Z
    stays silent, the month ends. The number of calls the fake Slack had
    received by the end of the demo day."""
    bot, clock, fake, people, transcript, catalog = world.bot, world.clock, world.fake, world.people, world.transcript, world.catalog
    t = catalog.t

    def ticker(hour: int, minute: int) -> None:
        """The scheduler's ticks until ``hour:minute`` of the demo's day."""
        _run_ticker(bot, clock, transcript, until=datetime.combine(DAY, time(hour, minute), TZ))

    firsts = [m for m in fake.channel_history(CHANNEL) if m["blocks"][0]["type"] == "section"]
    first_y = next(m for m in firsts if "U0OWNERY" in m["blocks"][0]["text"]["text"])
    first_z = next(m for m in firsts if "U0OWNERZ" in m["blocks"][0]["text"]["text"])
    y_items, z_items = _items_of(first_y), _items_of(first_z)
    item_text = {b["block_id"][5:]: b["text"]["text"]
                 for m in (first_y, first_z) for b in m["blocks"] if b.get("block_id", "").startswith("item-")}
    order_of = {item: re.search(r"\*(\S+)\*", text).group(1) for item, text in item_text.items()}

    orders = f"{order_of[y_items[0]]}, {order_of[y_items[1]]}"
    ticker(9, 10)
    _say(t("demo.step_confirm", orders=orders))
    people.command("U0OWNERY", f"confirm {orders}")
    transcript.show()

    # Z stays silent all day, as in the case study; Y answers for his own list only
    ticker(9, 12)
    _say(t("demo.step_not_yours", order=order_of[z_items[0]]))
    people.command("U0OWNERY", f"confirm {order_of[z_items[0]]}")
    transcript.show()

    # one of Y's items whose callback agent (王丽) reviews disputes in her DM
    disputed = next(item for item in y_items[2:] if "王丽" in item_text[item])
    ticker(9, 15)
    _say(t("demo.step_dispute", order=order_of[disputed]))
    people.click("U0OWNERY", ActionId.DISPUTE, disputed, f"act-{disputed}", CHANNEL, first_y)
    transcript.show()
    reason = t("demo.reason")
    people.submit_last_modal("U0OWNERY", ViewId.DISPUTE, BlockId.DISPUTE_REASON, ActionId.DISPUTE_REASON, reason)
    print(t("demo.typed", reason=reason) + "\n")
    transcript.show()

    ticker(9, 20)
    _say(t("demo.step_reaction"))
    people.react("U0OWNERY", first_y["ts"], event_id="Ev0DEMO1")
    transcript.show(max_updates=MAX_UPDATE_LINES)
    _say(t("demo.step_retry"))
    before = len(fake.calls)
    status = people.react("U0OWNERY", first_y["ts"], event_id="Ev0DEMO1", retry_num=1)
    print(t("demo.retry_result", status=status, calls=len(fake.calls) - before) + "\n")
    transcript.show()

    ticker(9, 45)
    _say(t("demo.step_overrule", order=order_of[disputed]))
    review_channel, review = next(
        (channel, m) for (channel, _), m in fake.messages.items()
        if any(b.get("block_id") == f"review-act-{disputed}" for b in m["blocks"])
    )
    people.click("U0CS0001", ActionId.OVERRULE, disputed, f"review-act-{disputed}", review_channel, review)
    transcript.show()
    evidence = t("demo.evidence")
    people.submit_last_modal("U0CS0001", ViewId.OVERRULE, BlockId.OVERRULE_EVIDENCE, ActionId.OVERRULE_EVIDENCE, evidence)
    print(t("demo.typed_evidence", evidence=evidence) + "\n")
    transcript.show()

    fixed = order_of[y_items[0]]
    ticker(10, 30)
    _say(t("demo.step_fix", order=fixed))
    people.command("U0OWNERY", f"fix {fixed} {t('demo.fix_note')}")
    transcript.show()

    ticker(10, 32)
    _say(t("demo.step_status"))
    people.command("U0OWNERY", "status")
    transcript.show()

    ticker(10, 35)
    _say(t("demo.step_rest"))
    people.command("U0OWNERY", "confirm all")
    transcript.show(max_updates=MAX_UPDATE_LINES)

    ticker(10, 40)
    _say(t("demo.step_home"))
    people.event(app_home_opened_event(user="U0OWNERY"), event_id="Ev0HOME1")
    transcript.show(max_items=None, homes=True)

    _say(t("demo.step_silent", every=int(TICK_EVERY.total_seconds() // 60)))
    ticker(18, 0)

    day_one = len(fake.calls)
    _month_end(bot, clock, fake, people, transcript, catalog)
    print(t("demo.done"))
    return day_one


MONDAY, TUESDAY = date(2026, 11, 30), date(2026, 12, 1)  # the month's last working day; the first of December


def _month_end(bot, clock: FixedClock, fake: FakeSlack, people: People, transcript: Transcript, catalog: Catalog) -> None:
    """The month ends: Monday's follow-ups, then on the first working day of
    December November's notice with its chart and workbook, and the letter
    Z's silence earned him, approved by the CS lead and acknowledged."""
    t = catalog.t
    _say(t("demo.step_monday"))
    clock.set(datetime.combine(MONDAY, time(8, 25), TZ))  # the weekend: nothing is due
    _run_ticker(bot, clock, transcript, until=datetime.combine(MONDAY, time(18, 0), TZ))

    _say(t("demo.step_notice"))
    clock.set(datetime.combine(TUESDAY, time(8, 25), TZ))
    _run_ticker(bot, clock, transcript, until=datetime.combine(TUESDAY, time(9, 5), TZ), max_items=None)

    draft = next(
        (channel, m) for (channel, _), m in fake.messages.items()
        if fake.dm_user(channel) == "U0CSLEAD" and any(b.get("block_id", "").startswith("letter-") and not b["block_id"].startswith("letter-ack")
                                                        for b in m.get("blocks") or []) and "小件配送" in m.get("text", "")
    )
    letter_id = next(b["block_id"].removeprefix("letter-") for b in draft[1]["blocks"] if b.get("block_id", "").startswith("letter-"))
    clock.set(datetime.combine(TUESDAY, time(9, 30), TZ))
    _say(t("demo.step_approve_not_lead"))
    people.click("U0OPSHEAD", ActionId.LETTER_APPROVE, letter_id, f"letter-{letter_id}", draft[0], draft[1])
    transcript.show()
    _say(t("demo.step_approve"))
    people.click("U0CSLEAD", ActionId.LETTER_APPROVE, letter_id, f"letter-{letter_id}", draft[0], draft[1])
    transcript.show(max_items=None)

    clock.set(datetime.combine(TUESDAY, time(10, 15), TZ))
    _say(t("demo.step_acknowledge"))
    ack_channel, ack = next(
        (channel, m) for (channel, _), m in fake.messages.items()
        if fake.dm_user(channel) == "U0OWNERZ" and any(b.get("block_id") == f"letter-ack-{letter_id}" for b in m.get("blocks") or [])
    )
    people.click("U0OWNERZ", ActionId.LETTER_ACKNOWLEDGE, letter_id, f"letter-ack-{letter_id}", ack_channel, ack)
    transcript.show()
    _run_ticker(bot, clock, transcript, until=datetime.combine(TUESDAY, time(10, 30), TZ))

    _say(t("demo.step_letters"))
    people.command("U0CSLEAD", "letters")
    transcript.show()


def _run_ticker(bot, clock: FixedClock, transcript: Transcript, *, until: datetime, max_items: int | None = 3) -> None:
    """The ticker, as ``rejectbot run`` drives it, from now until ``until``:
    every ``TICK_EVERY`` the clock moves on and ``Services.tick`` runs every
    job (the digest, the follow-up sweep, reviews, message refresh); whatever
    it sent to Slack is printed under the time it happened."""
    while clock.now() < until:
        clock.advance(min(TICK_EVERY, until - clock.now()))
        bot.services.tick()
        transcript.show(max_items=max_items, max_updates=MAX_UPDATE_LINES, at=clock.now().astimezone(TZ).strftime("%m-%d %H:%M"))
