"""The sandbox's world: the demo's app and fake Slack, driven from a page.

`Sandbox` builds the same world as ``rejectbot demo`` (`bot.demo.open_world`:
the real ``create_app`` against `bot.fakeslack.FakeSlack`, a SQLite database,
the demo routing, a fixed clock) and plays its opening (history, the import,
the 08:30 digest). What a person does on the page becomes the signed request
Slack would send (`bot.fakeslack.requests`), dispatched into the app; what the
page shows is read back from the fake Slack: messages, threads, DMs, Home
tabs, modals (views), files, and the ephemeral answers sent to response_urls
or with chat.postEphemeral. Time moves only when asked: the clock advances and
``Services.tick`` runs as the ticker runs it.

Errors raised: `Busy` (the case study is replaying), `Gone` (the message or
view acted on no longer exists), `Refused` (not where the person is).
"""

from __future__ import annotations

import io
import json
import re
import threading
from contextlib import ExitStack, redirect_stdout
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.core.workcal import WorkCalendar
from bot.demo import CHANNEL, DEMO_ROUTING, TICK_EVERY, TZ, World, case_study, display_names, open_world, opening
from bot.fakeslack import BOT_USER_ID, view_submission
from bot.fakeslack.requests import app_home_opened_event, home_block_actions
from bot.i18n import Catalog, load_messages
from bot.ids import ACKNOWLEDGE_REACTION, CONFIRM_REACTION
from bot.sandbox.blocks import EMOJI, blocks_html, mrkdwn

# The people of the demo routing one can act as, in the switcher's order, with what they do
PEOPLE = {
    "U0CSLEAD": "sandbox.role_cs_lead",
    "U0CS0001": "sandbox.role_cs_agent",
    "U0OWNERY": "sandbox.role_owner_y",
    "U0OWNERZ": "sandbox.role_owner_z",
    "U0OPSHEAD": "sandbox.role_ops_head",
    "U0LOGIBOSS": "sandbox.role_company_head",
}
REACTIONS = (CONFIRM_REACTION, ACKNOWLEDGE_REACTION, "+1")  # offered on every message
WEEKDAYS = ("sandbox.weekday_1", "sandbox.weekday_2", "sandbox.weekday_3", "sandbox.weekday_4", "sandbox.weekday_5", "sandbox.weekday_6", "sandbox.weekday_7")
NEXT_DUE_LIMIT = timedelta(days=7)  # "next thing due" stops looking after a week
QUIET_STEP = timedelta(hours=1)  # outside 07:00-20:00 the ticker's ticks are run an hour apart (nothing is due at night)
SENDS = ("chat.postMessage", "chat.update", "chat.postEphemeral", "response_url", "files.completeUploadExternal", "views.publish")
REPLAY_WAIT = 120  # seconds close() waits for a replay under way (it takes seconds)
EPHEMERALS_KEPT = 8  # per person and conversation, newest last
_STEP = re.compile(r"━+\n(.*?)\n━+", re.S)


class Busy(Exception):
    """The case study is replaying: the page watches until it ends."""


class Gone(Exception):
    """The message or view acted on is not there any more."""


class Refused(ValueError):
    """What the person asked cannot be done there; the message says why, in the page's language."""


class Sandbox:
    """One world at a time (a replay starts a new one), behind one lock."""

    def __init__(self, *, locale: str, workdir: Path) -> None:
        self.locale = locale
        self.workdir = workdir
        self.catalog = Catalog(locale)
        self.names = display_names(self.catalog)
        self.calendar = WorkCalendar(DEMO_ROUTING.calendar)
        self._lock = threading.RLock()
        self._stack: ExitStack | None = None
        self._worlds = 0
        self._changes = 0
        self.replaying = False
        self._replay: threading.Thread | None = None
        self.narration = io.StringIO()
        self.world = self._new_world()
        with redirect_stdout(io.StringIO()):  # the terminal transcript; the page shows the world itself
            opening(self.world)
        self._collect()

    # --- the world -----------------------------------------------------------
    def _new_world(self) -> World:
        self._worlds += 1
        workdir = self.workdir / f"world{self._worlds}"
        workdir.mkdir(parents=True, exist_ok=True)
        stack = ExitStack()
        world = stack.enter_context(open_world(self.locale, workdir))
        old, self._stack = self._stack, stack
        self.ephemerals: list[dict[str, Any]] = []
        self.modals: dict[str, dict[str, Any]] = {}  # user -> {"view_id", "errors"}
        self._seen = 0
        self._event_serial = 0
        self.narration = io.StringIO()
        if old is not None:
            old.close()
        return world

    def close(self) -> None:
        """Stop: a replay under way is let finish first (bounded), then the world is closed."""
        if self._replay is not None:
            self._replay.join(timeout=REPLAY_WAIT)
        with self._lock:
            if self._stack is not None:
                self._stack.close()
                self._stack = None

    def replay(self) -> threading.Thread:
        """The case study from its start in a new world, in a thread: the page
        watches it unfold. ``Busy`` while one is replaying."""
        with self._lock:
            if self.replaying:
                raise Busy
            self.replaying = True
            world = self.world = self._new_world()

        def run() -> None:
            try:
                with redirect_stdout(self.narration):
                    opening(world)
                    case_study(world)
            finally:
                with self._lock:
                    self._collect()
                    self.replaying = False
                    self._changes += 1

        thread = self._replay = threading.Thread(target=run, name="sandbox-replay", daemon=True)
        thread.start()
        return thread

    @property
    def story(self) -> str:
        """The step of the case study last narrated (the demo's headings)."""
        steps = _STEP.findall(self.narration.getvalue())
        return steps[-1] if steps else ""

    def _acting(self) -> None:
        if self.replaying:
            raise Busy

    def _check_conversation(self, user: str, channel: str) -> None:
        """A person acts only where the page shows them: the channel and their own DM with the app."""
        if channel not in (CHANNEL, f"D{user}"):
            raise Refused(self.catalog.t("sandbox.error_conversation"))

    def _message_in(self, user: str, channel: str, ts: str, *, top: bool = False) -> dict[str, Any]:
        """The message ``ts`` of a conversation ``user`` sees (a thread's parent when ``top``); `Gone` when none."""
        self._check_conversation(user, channel)
        message = self.world.fake.messages.get((channel, ts))
        if message is None or (top and message.get("thread_ts") not in (None, ts)):
            raise Gone
        return message

    def _event_id(self) -> str:
        self._event_serial += 1
        return f"Ev0SBX{self._event_serial:06d}"

    # --- what people do ------------------------------------------------------
    def command(self, user: str, text: str, *, channel: str) -> None:
        """``/reject …`` typed in ``channel`` (the channel, or the person's DM with the app)."""
        text = text.strip()
        text = text.removeprefix("/reject").strip() if text.startswith("/reject") else text
        with self._lock:
            self._acting()
            views = set(self.world.fake.views)
            self._check_conversation(user, channel)
            response = self.world.people.command(user, text, channel=channel)
            self._answered(user, channel, response.body)
            self._collect(actor=user, views_before=views)

    def click(self, user: str, *, action_id: str, value: str, block_id: str, channel: str | None, ts: str | None) -> None:
        """A button in a message (``channel``, ``ts``) or, without them, in the person's Home tab."""
        with self._lock:
            self._acting()
            fake, people = self.world.fake, self.world.people
            views = set(fake.views)
            if channel and ts:
                message = self._message_in(user, str(channel), str(ts))
                _check_button(message, action_id, block_id, value)
                response = people.click(user, action_id, value, block_id, channel, message)
                self._answered(user, channel, response.body)
            else:
                home = fake.home_view(user)
                if home is None:
                    raise Gone
                _check_button(home, action_id, block_id, value)
                request = home_block_actions(people.signer, user_id=user, action_id=action_id, value=value, block_id=block_id, view=home)
                self.world.bot.app.dispatch(request.to_bolt())
            self._collect(actor=user, views_before=views)

    def react(self, user: str, *, channel: str, ts: str, name: str, added: bool) -> bool:
        """A reaction added or removed: recorded on the message, and the event sent; False when nothing changed."""
        with self._lock:
            self._acting()
            message = self._message_in(user, channel, ts)
            if name not in REACTIONS and name not in {r["name"] for r in message.get("reactions") or []}:
                raise ValueError(name)  # the page offers these, and those already on the message
            event = self.world.fake.react_as_user(user, channel, ts, name, added=added)
            if event is not None:
                self.world.people.event(event, event_id=self._event_id())
            self._changes += 1
            self._collect(actor=user)
            return event is not None

    def reply(self, user: str, *, channel: str, thread_ts: str | None, text: str) -> None:
        """A message written by a person (a thread reply when ``thread_ts``), and its ``message`` event."""
        with self._lock:
            self._acting()
            if thread_ts:
                self._message_in(user, channel, thread_ts, top=True)
            else:
                self._check_conversation(user, channel)
            # what the person typed, as Slack's client sends it: &, < and > escaped
            # (https://docs.slack.dev/messaging/formatting-message-text#escaping)
            text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            event = self.world.fake.post_as_user(user, channel, text, thread_ts=thread_ts)
            self.world.people.event(event, event_id=self._event_id())
            self._changes += 1
            self._collect(actor=user)

    def open_home(self, user: str) -> None:
        """The person opens the app's Home tab: ``app_home_opened``, as Slack sends it."""
        with self._lock:
            if self.replaying:
                return  # watching: the Home as last published
            event = app_home_opened_event(user=user, view=self.world.fake.home_view(user))
            self.world.people.event(event, event_id=self._event_id())
            self._collect(actor=user)

    def submit(self, user: str, *, view_id: str, values: dict[str, dict[str, Any]]) -> dict[str, str]:
        """The person's open modal submitted with ``values[block_id][action_id]``
        (the page's field values); the errors the app answered (``response_action:
        errors``), shown on their fields, or {} when it closed."""
        with self._lock:
            self._acting()
            view = self.world.fake.views.get(view_id)
            if view is None or (self.modals.get(user) or {}).get("view_id") != view_id:
                raise Gone  # only the person whose modal it is submits it
            state = {block_id: {action_id: _state_value(_field(view, block_id, action_id), value) for action_id, value in _actions(actions)}
                     for block_id, actions in values.items()}
            request = view_submission(
                self.world.people.signer, user_id=user, callback_id=view["callback_id"], private_metadata=view["private_metadata"],
                values=state, view_id=view_id, title=(view.get("title") or {}).get("text", ""),
            )
            views = set(self.world.fake.views)
            response = self.world.bot.app.dispatch(request.to_bolt())
            answer = _json(response.body)
            if answer.get("response_action") == "errors":
                self.modals[user] = {"view_id": view_id, "errors": dict(answer.get("errors") or {}), "values": values}
            else:
                self.modals.pop(user, None)
            self._collect(actor=user, views_before=views)
            self._changes += 1
            return dict(self.modals.get(user, {}).get("errors") or {})

    def close_modal(self, user: str) -> None:
        with self._lock:
            self.modals.pop(user, None)
            self._changes += 1

    # --- time ------------------------------------------------------------------
    def advance(self, how: str) -> int:
        """``hour``: an hour on; ``morning``: to the next working day's digest
        time; ``due``: until the bot sends something (a week at most). The
        ticker's work runs on the way; the number of things sent."""
        with self._lock:
            self._acting()
            now = self.world.clock.now()
            if how == "hour":
                sent = self._tick_until(now + timedelta(hours=1))
            elif how == "morning":
                sent = self._tick_until(self.next_morning(now))
            elif how == "due":
                sent = self._tick_until(now + NEXT_DUE_LIMIT, stop_on_send=True)
            else:
                raise ValueError(how)
            self._collect()
            return sent

    def next_morning(self, now: datetime) -> datetime:
        """The next digest time after ``now`` on a working day."""
        day = now.astimezone(TZ).date()
        at = datetime.combine(day, DEMO_ROUTING.timings.digest_at, TZ)
        if at <= now or not self.calendar.is_working_day(day):
            at = datetime.combine(self.calendar.next_working_day(day), DEMO_ROUTING.timings.digest_at, TZ)
        return at

    def _tick_until(self, until: datetime, *, stop_on_send: bool = False) -> int:
        """``Services.tick`` as the ticker runs it (`bot.demo.TICK_EVERY` apart; an
        hour apart at night) until ``until``; the number of things sent to Slack."""
        clock, fake, services = self.world.clock, self.world.fake, self.world.bot.services
        start = len(fake.calls)
        while clock.now() < until:
            local = clock.now().astimezone(TZ)
            step = TICK_EVERY if 7 <= local.hour < 20 and self.calendar.is_working_day(local.date()) else QUIET_STEP
            clock.advance(min(step, until - clock.now()))
            services.tick()
            sent = sum(1 for call in fake.calls[start:] if call.method in SENDS and call.error is None)
            if stop_on_send and sent:
                return sent
        return sum(1 for call in fake.calls[start:] if call.method in SENDS and call.error is None)

    # --- what the page shows ---------------------------------------------------
    def _answered(self, user: str, channel: str, body: str) -> None:
        """What the app answered the request itself (an ack with text) is shown to the person alone, as Slack does."""
        if not body:
            return
        answer = _json(body)
        if answer:
            if answer.get("text") or answer.get("blocks"):
                self._ephemeral(user, channel, answer.get("text") or "", answer.get("blocks"))
        else:
            self._ephemeral(user, channel, body, None)

    def _ephemeral(self, user: str, channel: str, text: str, blocks: Any) -> None:
        self.ephemerals.append({"user": user, "channel": channel, "html": blocks_html(blocks, self.names, fallback=text)})

    def _collect(self, *, actor: str | None = None, views_before: set[str] | None = None) -> None:
        """Ephemeral answers and modals from the calls the fake received since the last look."""
        fake, people = self.world.fake, self.world.people
        calls = fake.calls
        for call in calls[self._seen:]:
            p = call.params
            if call.method == "response_url" and call.applied and call.hook in people.hook_owners:
                if not (p.get("replace_original") in (True, "true") or p.get("delete_original") in (True, "true") or p.get("response_type") == "in_channel"):
                    user, channel = people.hook_owners[call.hook]
                    self._ephemeral(user, channel, p.get("text") or "", p.get("blocks"))
            elif call.method == "chat.postEphemeral" and call.error is None:
                self._ephemeral(p["user"], p["channel"], p.get("text") or "", p.get("blocks"))
        if len(calls) != self._seen:
            self._changes += 1
        self._seen = len(calls)
        if actor is not None and views_before is not None:
            opened = [view_id for view_id, view in fake.views.items() if view_id not in views_before and view["type"] == "modal"]
            if opened:
                self.modals[actor] = {"view_id": opened[-1], "errors": {}, "values": {}}

    def version(self) -> str:
        """Changes whenever what the page shows may have changed."""
        return f"{self._worlds}.{len(self.world.fake.calls)}.{self._changes}.{int(self.replaying)}"

    def snapshot(self, user: str) -> dict[str, Any]:
        """Everything ``user`` sees, as JSON for the page."""
        with self._lock:
            if self.replaying:
                self._collect()  # what the replay's people were answered
            world = self.world
            fake = world.fake
            messages = fake.messages
            dm = f"D{user}"
            modal = self.modals.get(user)
            modal_view = fake.views.get(modal["view_id"]) if modal else None
            home = fake.home_view(user)
            return {
                "version": self.version(),
                "now": _when(world.clock.now(), self.catalog),
                "replaying": self.replaying,
                "story": self.story,
                "user": user,
                "channel": CHANNEL,
                "dm": dm,
                "conversations": {
                    CHANNEL: self._conversation(CHANNEL, messages, user),
                    dm: self._conversation(dm, messages, user),
                },
                "home": blocks_html(home["blocks"], self.names) if home else None,
                "modal": None if modal_view is None else {
                    "view_id": modal_view["id"],
                    "title": (modal_view.get("title") or {}).get("text", ""),
                    "submit": (modal_view.get("submit") or {}).get("text", ""),
                    "close": (modal_view.get("close") or {}).get("text", ""),
                    "html": blocks_html(modal_view["blocks"], self.names, errors=modal["errors"]),
                    "errors": modal["errors"],
                    "values": modal["values"],
                },
            }

    def _conversation(self, channel: str, messages: dict[tuple[str, str], dict[str, Any]], user: str) -> dict[str, Any]:
        top = sorted((m for (ch, _), m in messages.items() if ch == channel and m["thread_ts"] is None), key=lambda m: float(m["ts"]))
        replies: dict[str, list[dict[str, Any]]] = {}
        for (ch, ts), m in sorted(messages.items(), key=lambda kv: float(kv[0][1])):
            if ch == channel and m["thread_ts"] and ts != m["thread_ts"]:
                replies.setdefault(m["thread_ts"], []).append(m)
        mine = [e for e in self.ephemerals if e["user"] == user and e["channel"] == channel][-EPHEMERALS_KEPT:]
        return {
            "messages": [self._message(channel, m, user, replies.get(m["ts"], [])) for m in top],
            "ephemerals": [e["html"] for e in mine],
        }

    def _message(self, channel: str, m: dict[str, Any], viewer: str, replies: list[dict[str, Any]]) -> dict[str, Any]:
        author = m.get("user") or BOT_USER_ID
        return {
            "channel": channel,
            "ts": m["ts"],
            "who": self.names.get(author, author),
            "bot": author == BOT_USER_ID,
            "time": _when(datetime.fromtimestamp(float(m["ts"]), TZ), self.catalog),
            "html": blocks_html(m.get("blocks"), self.names, fallback=m.get("text") or ""),
            "text": mrkdwn(m.get("text") or "", self.names) if m.get("blocks") and not m.get("files") else "",
            "edited": "edited" in m,
            "reactions": [
                {"name": r["name"], "emoji": EMOJI.get(r["name"], f":{r['name']}:"), "count": r["count"], "mine": viewer in r["users"]}
                for r in m.get("reactions") or []
            ],
            "files": [
                {"id": f["id"], "name": f["name"], "image": f.get("mimetype", "").startswith("image/"), "size": f.get("size", 0)}
                for f in m.get("files") or []
            ],
            "replies": [self._message(channel, r, viewer, []) for r in replies],
        }

    def file(self, file_id: str) -> tuple[str, bytes]:
        """A file's name and bytes, as the fake Slack holds them."""
        with self._lock:
            for file in self.world.fake.files():
                if file["id"] == file_id:
                    return file["name"], file["content"]
        raise Gone

    def people(self) -> list[dict[str, str]]:
        """The switcher: each person's id, name and what they do."""
        return [{"id": user, "name": self.names[user], "role": self.catalog.t(key)} for user, key in PEOPLE.items()]

    def texts(self) -> dict[str, str]:
        """The page's own texts (``sandbox.*`` in the catalog), for its script."""
        return {key.removeprefix("sandbox."): value for key, value in load_messages(self.locale).items() if key.startswith("sandbox.")}

    def emoji(self) -> list[dict[str, str]]:
        return [{"name": name, "emoji": EMOJI[name]} for name in REACTIONS]


def _json(body: str) -> dict[str, Any]:
    try:
        value = json.loads(body) if body else {}
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _check_button(surface: dict[str, Any], action_id: str, block_id: str, value: str) -> None:
    """A click comes only from a button the message or view shows; `Gone` when it has none such."""
    for block in surface.get("blocks") or []:
        if block.get("block_id") != block_id:
            continue
        for element in [block.get("accessory"), *(block.get("elements") or [])]:
            if (isinstance(element, dict) and element.get("type") == "button" and element.get("action_id") == action_id
                    and str(element.get("value") or "") == value):
                return
    raise Gone


def _element(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    for block in view.get("blocks") or []:
        if block.get("block_id") == block_id:
            return block.get("element") or {}
    raise Gone


def _field(view: dict[str, Any], block_id: str, action_id: str) -> dict[str, Any]:
    """The input element ``block_id`` of ``view``, when its action_id is ``action_id``; `Gone` otherwise."""
    element = _element(view, block_id)
    if element.get("action_id") != action_id:
        raise Gone
    return element


def _actions(actions: Any) -> list[tuple[str, str | None]]:
    """A field's ``{action_id: value}`` from the page: the value a text, as a form field's is."""
    if not isinstance(actions, dict) or not all(isinstance(value, str | None) for value in actions.values()):
        raise ValueError("values")
    return list(actions.items())


def _state_value(element: dict[str, Any], value: Any) -> Any:
    """A field's value as Slack puts it in ``view.state.values``, by element type."""
    kind = element.get("type")
    value = value if value not in ("", None) else None
    if kind == "static_select":
        option = next((o for o in element.get("options") or [] if o.get("value") == value), None)
        return {"type": "static_select", "selected_option": option}
    if kind == "datepicker":
        return {"type": "datepicker", "selected_date": value}
    if kind == "number_input":
        return {"type": "number_input", "value": value}
    return value  # plain_text_input: the builder wraps it


def _when(moment: datetime, catalog: Catalog) -> str:
    local = moment.astimezone(TZ)
    return catalog.t("sandbox.when", weekday=catalog.t(WEEKDAYS[local.weekday()]), date=local.strftime("%Y-%m-%d"), time=local.strftime("%H:%M"))
