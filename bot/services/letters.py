"""The work contact letter (工作联系函): drafting, sign-off, delivery and
follow-up until acknowledged.

**Drafts** come from the rows (``bot.core.letters.build_facts``), at most
once per owner and month (``letter.draft_key`` = ``letter:<owner>:<YYYY-MM>``,
unique), when
- the owner's threads reached the top of their escalation chain on
  ``[letters] escalation_days`` working days of the month (the ``letters``
  ticker job, ``run``);
- the monthly notice finds no improvement (``draft_if_no_improvement``,
  called by the notice);
- CS asks by hand (``/reject letter <owner>``, ``draft_by_hand``).
Each draft goes to the CS lead by DM with Approve / Edit / Discard (an
automatic draft waits for working time; the ticker sends it then).

**Sign-off.** Only the CS lead approves, edits or discards (``decide``);
anyone else is refused privately and nothing changes. Approval takes the
year's next number, renders the DOCX and PDF once and stores them with their
SHA-256, all in one transaction: an approved letter always has its files.
The oldest unfixed items are read again in that transaction (as of the
approval, the letter's date; attributed to the owner each item's digest was
posted to, like the monthly figures), so an item fixed since the draft is
never listed; a changed list is a ``unfixed_updated`` event.

**Delivery** (at once when approved in working time, else by the ticker from
the opening): to the owner and the owner's top escalation contact, each a DM
with an Acknowledge button and both files (``upload_once`` keys
``letter:<id>:docx:<user>``, ``letter:<id>:pdf:<user>``); then the
announcement in the shared channel. Every step has its key; a step that
fails (Slack 5xx, a timeout) is retried by the ticker, which resumes it by
its key, never doubling it. The PDF is attached to the owner's next digest
message (in its thread) once that is posted.

**Follow-up**, in working time only: one reminder DM per working day to each
recipient (``letter:<id>:remind:<day>:<user>``) until either acknowledges.
The first acknowledgment ends it and is announced in the announcement's
thread; every one is a ``letter_event``. One pressed while the delivery is
unfinished (its DM went out, a later step failed) is recorded at once and
takes effect when the delivery completes. Past ``reply_by`` unacknowledged,
the letter is ``overdue`` and the CS lead gets one DM with the facts.

Errors: none raised to callers; refusals are answered privately, Slack
failures are logged and retried by the ticker.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from slack_sdk.errors import SlackApiError

from bot.core import letter_blocks as blocks
from bot.core.letters import (
    UNFIXED_MOST,
    LetterAction,
    LetterReason,
    LetterStatus,
    Verdict,
    build_facts,
    decide,
    draft_key,
    facts_from_json,
    facts_to_json,
    issue,
    letter_number,
    no_improvement,
    reached_escalation_days,
    unfixed_change,
)
from bot.core.monthly import Escalation, Month, MonthFigures
from bot.core.routing import Owner
from bot.core.text import mention
from bot.core.workcal import CalendarDataMissing
from bot.gateway import ReplyTo
from bot.i18n import Catalog
from bot.services.deps import Deps
from bot.services.monthly import LEVELS, figures_for
from bot.services.office_hours import may_message_people, working_hours
from bot.services.uploads import upload_once
from storage import letters as store
from storage import queries as q
from storage.db import transaction
from storage.models import Letter

log = logging.getLogger(__name__)


# The documents' libraries (python-docx, ReportLab, fontTools) take tens of MB:
# they are loaded when a letter is first shown or issued, not when the bot
# starts, so that an idle `rejectbot run` stays small (bench/bench_run.py).


def letter_subject(facts, catalog: Catalog) -> str:
    from bot.documents.letter import letter_subject as subject

    return subject(facts, catalog)


def render_letter_docx(facts, *, locales) -> bytes:
    from bot.documents.letter import render_letter_docx as render

    return render(facts, locales=locales)


def render_letter_pdf(facts, *, locales) -> bytes:
    from bot.documents.letter import render_letter_pdf as render

    return render(facts, locales=locales)
LEASE = timedelta(minutes=10)  # longer than any one send with the gateway's retries
BOT = "bot"  # the actor of the bot's own steps
TRIGGER_ERRORS = frozenset({"expired_trigger_id", "exchanged_trigger_id", "invalid_trigger_id"})  # views.open: the click's trigger is no good


@dataclass
class LetterReport:
    """What one run of the ``letters`` job did."""

    drafted: list[int] = field(default_factory=list)
    drafts_sent: list[int] = field(default_factory=list)
    delivered: list[int] = field(default_factory=list)
    attached: list[int] = field(default_factory=list)
    reminded: int = 0
    overdue: list[int] = field(default_factory=list)
    problem: str | None = None  # the health check's (``letters.problem``, in the team's language): a delivery that keeps failing


# --- small helpers ----------------------------------------------------------------------


def _view(deps: Deps, letter: Letter, cat: Catalog | None = None) -> blocks.LetterView:
    """The letter as its messages show it, in ``cat`` (the reader's; default BOT_LOCALE)."""
    return blocks.LetterView(
        id=letter.id, number=letter.number, subject=letter_subject(facts_from_json(letter.facts), cat or deps.catalog), owner=letter.owner, month=letter.month, reason=letter.reason,
        status=LetterStatus(letter.status), created_at=letter.created_at, approved_at=letter.approved_at,
        approved_by=letter.approved_by, delivered_at=letter.delivered_at, acknowledged_at=letter.acknowledged_at,
        acknowledged_by=letter.acknowledged_by, reply_by=letter.reply_by, docx_sha256=letter.docx_sha256, pdf_sha256=letter.pdf_sha256,
    )


def _load(deps: Deps, letter_id: int) -> Letter | None:
    with transaction(deps.session_factory) as session:
        return store.find_letter(session=session, letter_id=letter_id)


def _is_working_day(deps: Deps):
    def check(day: date) -> bool:
        try:
            return deps.calendar.is_working_day(day)
        except CalendarDataMissing:  # a year nobody entered: count its weekdays, as the reply deadline must be some day
            return day.weekday() < 5
    return check


def recipients(deps: Deps, owner_name: str) -> list[str]:
    """Who receives an owner's letter: the owner and the top of their
    escalation chain (the last manager), as the routing file has them now."""
    owner = deps.routing.owner_named(owner_name)
    if owner is None:
        return []
    users = [owner.user]
    if owner.escalation and owner.escalation[-1] not in users:
        users.append(owner.escalation[-1])
    return users


def _locales(deps: Deps) -> tuple[str, ...]:
    """The letter is in Chinese, with an English version when ``BOT_LOCALE=en``."""
    return ("zh_CN", "en") if deps.catalog.locale == "en" else ("zh_CN",)


def _post_once(deps: Deps, key: str, *, now: datetime, text: str, blocks_: list[dict] | None = None, channel: str | None = None, user: str | None = None, thread_ts: str | None = None) -> tuple[str, str] | None:
    """Post once under ``key`` (claimed in the ledger, the key in the
    message's metadata): (channel, ts) when it is in Slack, now or earlier;
    None when another run holds it or the send failed (tried again later,
    after looking it up by its key)."""
    with transaction(deps.session_factory) as session:
        claim = q.claim_effect(session=session, key=key, now=now, lease=LEASE)
        if claim is q.Claim.DONE:
            where, _, ts = q.find_effect(session=session, key=key).detail.partition(" ")
            return where, ts
    if claim is q.Claim.BUSY:
        return None
    try:
        where = channel or deps.notifier.open_dm(user)
        ts = deps.notifier.lookup_by_key(where, key, thread_ts=thread_ts) if claim is q.Claim.RESUMED else None
        if ts is None:
            ts = deps.notifier.post_message(where, text=text, blocks=blocks_, thread_ts=thread_ts, key=key)
    except Exception as exc:  # noqa: BLE001 - whatever failed, the ticker tries again
        log.warning("letter message %s not sent (%s: %s); the ticker tries again", key, type(exc).__name__, exc)
        with transaction(deps.session_factory) as session:
            q.release_effect(session=session, key=key, now=deps.clock.now())
        return None
    with transaction(deps.session_factory) as session:
        q.finish_effect(session=session, key=key, now=deps.clock.now(), detail=f"{where} {ts}")
    return where, ts


# --- drafting ----------------------------------------------------------------------------


def _escalations(deps: Deps, month: Month, *, until: datetime) -> list[Escalation]:
    """The escalation DMs sent in ``month`` (local) up to ``until``, with
    whether each reached the top of its owner's chain (the routing now; the
    same rule as the notice's: the chain's last level the ladder reaches)."""
    tz = deps.timezone
    since = datetime.combine(month.first_day, datetime.min.time(), tz)
    end = min(until, datetime.combine(month.next().first_day, datetime.min.time(), tz))
    with transaction(deps.session_factory) as session:
        rows = store.list_escalations(session=session, since=since, until=end)
    found = []
    for owner_name, level, recipient, sent_at in rows:
        owner = deps.routing.owner_named(owner_name)
        top = owner is not None and bool(owner.escalation) and level == min(len(owner.escalation), LEVELS)
        found.append(Escalation(owner=owner_name, level=level, top=top, recipient=recipient, sent_at=sent_at))
    return found


def _display_name(deps: Deps, user: str) -> str:
    """A manager's name in Slack for the letter; "" when Slack does not say
    (any error: the letter then names the escalation level's role)."""
    try:
        return deps.notifier.display_name(user)
    except Exception as exc:  # noqa: BLE001 - a name is a courtesy: the draft is made without it
        log.warning("no Slack name for %s (%s: %s); the letter names the level's role", user, type(exc).__name__, exc)
        return ""


def _draft(deps: Deps, *, owner: Owner, month: Month, reason: LetterReason, now: datetime, actor: str, key: str, figures: MonthFigures | None = None) -> Letter | None:
    """Build the draft from the rows and store it under ``key``; None when
    the key is taken (drafted before)."""
    with transaction(deps.session_factory) as session:
        if store.find_letter_by_key(session=session, draft_key=key) is not None:
            return None
    if figures is None:
        figures, _ = figures_for(deps, month, now)
    with transaction(deps.session_factory) as session:
        unfixed = store.list_unfixed_items(session=session, owner=owner.name, limit=UNFIXED_MOST)
    cat, settings = deps.catalog, deps.routing.letters
    escalations = _escalations(deps, month, until=now)
    names = {user: _display_name(deps, user) for user in dict.fromkeys(e.recipient for e in escalations if e.owner == owner.name)}
    facts = build_facts(
        owner=owner.name, month=month, reason=reason, figures=figures, unfixed=unfixed,
        escalations=escalations, names=names,
        sender=settings.from_ or cat.t("letters.default_sender"), recipient=settings.to or owner.name,
        agreement=settings.agreement, improvement=cat.t("letters.default_improvement", owner=owner.name),
        reply_days=settings.reply_days, issued_on=now.astimezone(deps.timezone).date(), is_working_day=_is_working_day(deps),
        timezone=deps.timezone,
    )
    letter = Letter(
        draft_key=key, owner=owner.name, month=str(month), reason=reason, status=LetterStatus.DRAFT,
        facts=facts_to_json(facts), improvement=facts.improvement, reply_days=facts.reply_days,
        created_at=now, created_by="" if actor == BOT else actor,
    )
    with transaction(deps.session_factory) as session:
        created = store.create_letter(session=session, letter=letter)
        if created is None:
            return None
        store.add_event(session=session, letter_id=created.id, at=now, actor=actor, action="drafted", note=str(reason))
    log.info("letter draft %s for %s (%s, %s)", created.id, owner.name, month, reason)
    return created


def send_draft(deps: Deps, letter_id: int, *, now: datetime) -> bool:
    """The draft to the CS lead by DM, with its buttons (once)."""
    letter = _load(deps, letter_id)
    if letter is None or letter.draft_ts is not None:
        return letter is not None
    lead = deps.catalog_for(deps.routing.cs_lead)  # the CS lead's DM, in their language
    text, shown = blocks.draft_message(_view(deps, letter, lead), facts_from_json(letter.facts), lead, deps.timezone)
    posted = _post_once(deps, f"letter:{letter_id}:draft", now=now, text=text, blocks_=shown, user=deps.routing.cs_lead)
    if posted is None:
        return False
    with transaction(deps.session_factory) as session:
        store.set_draft_message(session=session, letter_id=letter_id, channel=posted[0], ts=posted[1])
    if LetterStatus(letter.status) is not LetterStatus.DRAFT:  # decided before its DM went out: show that
        _refresh_draft_message(deps, letter_id)
    return True


def _refresh_draft_message(deps: Deps, letter_id: int) -> None:
    """The CS lead's draft DM shows the letter as it is now (edited,
    approved with its hashes, or discarded)."""
    letter = _load(deps, letter_id)
    if letter is None or not letter.draft_ts:
        return
    lead = deps.catalog_for(deps.routing.cs_lead)  # the CS lead's DM, in their language
    text, shown = blocks.draft_message(_view(deps, letter, lead), facts_from_json(letter.facts), lead, deps.timezone)
    try:
        deps.notifier.update_message(letter.draft_channel, letter.draft_ts, text=text, blocks=shown)
    except Exception:  # noqa: BLE001 - the letter is right in the database; the DM only lags
        log.warning("the draft DM of letter %s was not updated", letter_id, exc_info=True)


def resolve_owner(deps: Deps, who: str) -> Owner | None:
    """An owner by name (as in the routing file) or by mention (``<@U…|name>``, ``<@U…>``)."""
    who = who.strip()
    if who.startswith("<@") and who.endswith(">"):
        user = who[2:-1].split("|", 1)[0]
        return next((o for o in deps.routing.owners if o.user == user), None)
    return deps.routing.owner_named(who)


def draft_by_hand(deps: Deps, *, actor: str, who: str, reply_to: ReplyTo) -> int | None:
    """``/reject letter <owner name or @owner>``, by CS: a draft for this
    month when the owner has items in it, else for the month before (the
    first working days of a month, right after its notice), to the CS lead:
    at once in working time; outside it the ticker sends it at the opening
    (the actor is told when), unless the actor is the CS lead (their own
    answer goes at once). The id of the letter drafted, or None."""
    cat = deps.catalog_for(actor)
    if not deps.routing.is_cs(actor):
        deps.notifier.reply(reply_to, cat.t("letters.draft_cs_only"))
        return None
    owner = resolve_owner(deps, who)
    if owner is None:
        deps.notifier.reply(reply_to, cat.t("letters.unknown_owner", who=who, owners=", ".join(o.name for o in deps.routing.owners)))
        return None
    now = deps.clock.now()
    current = Month.of(now.astimezone(deps.timezone).date())
    with transaction(deps.session_factory) as session:
        month = current if store.owner_has_items(
            session=session, owner=owner.name, first_day=current.first_day, last_day=current.last_day,
        ) else current.previous()  # right after a month's notice, before this month's digests have their items
    with transaction(deps.session_factory) as session:
        earlier = [
            l for l in store.list_letters(session=session, owner=owner.name, month=str(month))
            if LetterStatus(l.status) is not LetterStatus.DISCARDED
        ]
        taken = store.count_letters_of(session=session, owner=owner.name, month=str(month))
    if earlier:
        deps.notifier.reply(reply_to, cat.t(
            "letters.draft_exists", owner=owner.name, month=str(month), name=blocks.name_of(_view(deps, earlier[-1]), cat),
            status=cat.t(blocks.STATUS_KEYS[LetterStatus(earlier[-1].status)]),
        ))
        return None
    key = draft_key(owner.name, month) if taken == 0 else f"{draft_key(owner.name, month)}:{taken + 1}"  # after a discarded one
    letter = _draft(deps, owner=owner, month=month, reason=LetterReason.BY_HAND, now=now, actor=actor, key=key)
    if letter is None:  # another request took the key a moment ago
        deps.notifier.reply(reply_to, cat.t("letters.draft_raced", owner=owner.name))
        return None
    lead = mention(deps.routing.cs_lead)
    which = "" if month == current else " " + cat.t("letters.month_before", owner=owner.name, current=str(current), month=str(month))
    if not may_message_people(deps, now) and actor != deps.routing.cs_lead:
        # a DM to the CS lead waits for working time (bot.services.office_hours); the ticker sends it at the
        # opening. The CS lead's own request is their own answer: it goes at once.
        deps.notifier.reply(reply_to, _waiting_text(deps, now, owner=owner.name, month=month, lead=lead) + which)
        return letter.id
    sent = send_draft(deps, letter.id, now=now)
    text = cat.t("letters.drafted" if sent else "letters.drafted_unsent", owner=owner.name, month=str(month), lead=lead)
    deps.notifier.reply(reply_to, text + which)
    return letter.id


def _waiting_text(deps: Deps, now: datetime, *, owner: str, month: Month, lead: str) -> str:
    """The answer to a draft made outside working time: when its DM goes out."""
    try:
        opening = working_hours(deps).next_working_moment(now)
    except CalendarDataMissing:  # the coming days are not in the calendar: no time to promise
        return deps.catalog.t("letters.drafted_waiting_calendar", owner=owner, month=str(month), lead=lead)
    when = opening.astimezone(deps.timezone).strftime("%Y-%m-%d %H:%M")
    return deps.catalog.t("letters.drafted_waiting", owner=owner, month=str(month), lead=lead, when=when)


def draft_if_no_improvement(deps: Deps, figures: MonthFigures, *, now: datetime) -> list[int]:
    """The monthly notice's trigger: a draft for each owner whose mistaken
    rejections (confirmed + deemed + overruled: ``Counts.mistaken``) are
    above 0 and at least the month before's, once per owner and month
    (``letter:<owner>:<YYYY-MM>``, shared with the other triggers). The
    drafts go to the CS lead in working time (now, or by the ticker). The
    ids of the letters drafted now."""
    drafted = []
    for owner_figures in figures.owners:
        owner = deps.routing.owner_named(owner_figures.owner)
        if owner is None or not no_improvement(owner_figures):
            continue
        letter = _draft(
            deps, owner=owner, month=figures.month, reason=LetterReason.NO_IMPROVEMENT, now=now, actor=BOT,
            key=draft_key(owner.name, figures.month), figures=figures,
        )
        if letter is not None:
            drafted.append(letter.id)
            if may_message_people(deps, now):
                send_draft(deps, letter.id, now=now)
    return drafted


def draft_for_escalations(deps: Deps, *, now: datetime) -> list[int]:
    """The K-days trigger, this month so far: a draft for each owner whose
    threads reached the top of their chain on ``[letters] escalation_days``
    distinct working days."""
    month = Month.of(now.astimezone(deps.timezone).date())
    escalations = _escalations(deps, month, until=now)
    k = deps.routing.letters.escalation_days
    drafted = []
    for owner in deps.routing.owners:
        if not reached_escalation_days(escalations, owner=owner.name, month=month, k=k, tz=deps.timezone, is_working_day=_is_working_day(deps)):
            continue
        letter = _draft(deps, owner=owner, month=month, reason=LetterReason.ESCALATIONS, now=now, actor=BOT, key=draft_key(owner.name, month))
        if letter is not None:
            drafted.append(letter.id)
    return drafted


# --- sign-off ------------------------------------------------------------------------------


def _dm_sent(deps: Deps, letter_id: int, user: str) -> bool:
    """Whether the delivery's DM to ``user`` (with its Acknowledge button) is in Slack."""
    with transaction(deps.session_factory) as session:
        effect = q.find_effect(session=session, key=f"letter:{letter_id}:dm:{user}")
    return effect is not None and effect.done_at is not None


def _decided(deps: Deps, *, actor: str, letter_id: int, action: LetterAction, reply_to: ReplyTo) -> Letter | None:
    """The letter when ``actor`` may do ``action`` on it now; else None,
    after telling them why (privately)."""
    cat = deps.catalog_for(actor)
    letter = _load(deps, letter_id)
    if letter is None:
        deps.notifier.reply(reply_to, cat.t("letters.unknown_letter"))
        return None
    status = LetterStatus(letter.status)
    is_recipient = actor in recipients(deps, letter.owner)
    verdict = decide(
        status, action, is_cs_lead=actor == deps.routing.cs_lead, is_recipient=is_recipient,
        dm_sent=is_recipient and action is LetterAction.ACKNOWLEDGE and _dm_sent(deps, letter_id, actor),
    )
    if verdict is Verdict.DO:
        return letter
    name = blocks.name_of(_view(deps, letter), cat)
    if verdict is Verdict.NOT_ALLOWED:
        key = "letters.ack_not_recipient" if action is LetterAction.ACKNOWLEDGE else "letters.lead_only"
        deps.notifier.reply(reply_to, cat.t(key, name=name, lead=mention(deps.routing.cs_lead)))
    elif verdict is Verdict.ALREADY:
        deps.notifier.reply(reply_to, cat.t("letters.already", name=name, status=cat.t(blocks.STATUS_KEYS[status])))
    elif action is LetterAction.ACKNOWLEDGE and status in (LetterStatus.DRAFT, LetterStatus.APPROVED):
        deps.notifier.reply(reply_to, cat.t("letters.ack_not_yet", name=name))
    else:
        deps.notifier.reply(reply_to, cat.t("letters.too_late", name=name, status=cat.t(blocks.STATUS_KEYS[status])))
    return None


def open_edit(deps: Deps, *, actor: str, letter_id: int, trigger_id: str, reply_to: ReplyTo) -> bool:
    """The Edit button: the modal on the improvement and the reply days."""
    letter = _decided(deps, actor=actor, letter_id=letter_id, action=LetterAction.EDIT, reply_to=reply_to)
    if letter is None:
        return False
    modal = blocks.edit_modal(letter_id=letter.id, improvement=letter.improvement, reply_days=letter.reply_days, catalog=deps.catalog_for(actor))
    try:
        deps.notifier.open_view(trigger_id, modal)
    except SlackApiError as exc:
        if exc.response.get("error") not in TRIGGER_ERRORS:
            raise
        # Slack gives 3 seconds to open a modal from a click (views.open:
        # "expired_trigger_id"); a slow moment lost it: ask for another click.
        deps.notifier.reply(reply_to, deps.catalog_for(actor).t("letters.edit_expired"))
        return False
    return True


def edit(deps: Deps, *, actor: str, letter_id: int, improvement: str, reply_days: int, reply_to: ReplyTo) -> bool:
    """The edit modal submitted (already checked: ``letter_blocks.check_edit``)."""
    letter = _decided(deps, actor=actor, letter_id=letter_id, action=LetterAction.EDIT, reply_to=reply_to)
    if letter is None:
        return False
    now = deps.clock.now()
    facts = replace(facts_from_json(letter.facts), improvement=improvement, reply_days=reply_days)
    with transaction(deps.session_factory) as session:
        done = store.edit_draft(session=session, letter_id=letter_id, improvement=improvement, reply_days=reply_days, facts=facts_to_json(facts))
        if done:
            store.add_event(session=session, letter_id=letter_id, at=now, actor=actor, action="edited", note=f"reply_days={reply_days}\n{improvement}")
    if not done:  # approved or discarded meanwhile: say so
        return bool(_decided(deps, actor=actor, letter_id=letter_id, action=LetterAction.EDIT, reply_to=reply_to))
    _refresh_draft_message(deps, letter_id)
    cat = deps.catalog_for(actor)
    deps.notifier.reply(reply_to, cat.t("letters.edited", name=blocks.name_of(_view(deps, letter, cat), cat), days=reply_days))
    return True


def discard(deps: Deps, *, actor: str, letter_id: int, reply_to: ReplyTo) -> bool:
    letter = _decided(deps, actor=actor, letter_id=letter_id, action=LetterAction.DISCARD, reply_to=reply_to)
    if letter is None:
        return False
    now = deps.clock.now()
    with transaction(deps.session_factory) as session:
        done = store.discard_draft(session=session, letter_id=letter_id, actor=actor, now=now)
        if done:
            store.add_event(session=session, letter_id=letter_id, at=now, actor=actor, action="discarded")
    if not done:
        return bool(_decided(deps, actor=actor, letter_id=letter_id, action=LetterAction.DISCARD, reply_to=reply_to))
    _refresh_draft_message(deps, letter_id)
    cat = deps.catalog_for(actor)
    deps.notifier.reply(reply_to, cat.t("letters.discarded", name=blocks.name_of(_view(deps, letter, cat), cat)))
    return True


def approve(deps: Deps, *, actor: str, letter_id: int, reply_to: ReplyTo) -> bool:
    """The CS lead approves: number, files and hashes in one transaction,
    then delivery (now in working time, else by the ticker)."""
    letter = _decided(deps, actor=actor, letter_id=letter_id, action=LetterAction.APPROVE, reply_to=reply_to)
    if letter is None:
        return False
    now = deps.clock.now()
    today = now.astimezone(deps.timezone).date()
    settings = deps.routing.letters
    with transaction(deps.session_factory) as session:
        if not store.approve_letter(session=session, letter_id=letter_id, actor=actor, now=now):
            approved = None
        else:
            seq = store.next_number(session=session, year=today.year)
            number = letter_number(settings.number_prefix, today.year, seq)
            drafted = facts_from_json(letter.facts)
            unfixed = store.list_unfixed_items(session=session, owner=letter.owner, limit=UNFIXED_MOST)  # as of now, this transaction
            facts = issue(drafted, number=number, issued_on=today, is_working_day=_is_working_day(deps), unfixed=unfixed)
            docx = render_letter_docx(facts, locales=_locales(deps))
            pdf = render_letter_pdf(facts, locales=_locales(deps))
            store.set_issued(
                session=session, letter_id=letter_id, number=number, year=today.year, seq=seq, facts=facts_to_json(facts),
                reply_by=facts.reply_by, docx=docx, docx_sha256=hashlib.sha256(docx).hexdigest(), pdf=pdf, pdf_sha256=hashlib.sha256(pdf).hexdigest(),
            )
            store.add_event(session=session, letter_id=letter_id, at=now, actor=actor, action="approved", note=number)
            changed = unfixed_change(drafted.unfixed, facts.unfixed)
            if changed:  # fixed (or newly confirmed) since the draft: the letter lists the items as they are at approval
                store.add_event(session=session, letter_id=letter_id, at=now, actor=BOT, action="unfixed_updated", note=changed)
            approved = number
    if approved is None:  # a second click won the race a moment earlier
        return bool(_decided(deps, actor=actor, letter_id=letter_id, action=LetterAction.APPROVE, reply_to=reply_to))
    _refresh_draft_message(deps, letter_id)
    delivered = may_message_people(deps, now) and deliver(deps, letter_id, now=now)
    deps.notifier.reply(reply_to, deps.catalog_for(actor).t("letters.approved_delivered" if delivered else "letters.approved_pending", number=approved))
    return True


# --- delivery ---------------------------------------------------------------------------------


def _file_names(letter: Letter) -> tuple[str, str]:
    return f"{letter.number}.docx", f"{letter.number}.pdf"


def deliver(deps: Deps, letter_id: int, *, now: datetime) -> bool:
    """Every step of an approved letter's delivery not done yet, each once
    by its key; the letter is ``delivered`` when all are. False when a step
    failed (recorded; the ticker tries again)."""
    letter = _load(deps, letter_id)
    if letter is None or LetterStatus(letter.status) is not LetterStatus.APPROVED:
        return letter is not None and letter.delivered_at is not None
    cat = deps.catalog
    facts = facts_from_json(letter.facts)
    view = _view(deps, letter)
    users = recipients(deps, letter.owner)
    docx_name, pdf_name = _file_names(letter)
    try:
        if not users:
            raise LookupError(f"owner {letter.owner!r} is not in the routing file")
        for user in users:
            mine = deps.catalog_for(user)  # each recipient's DM in their language; the announcement in BOT_LOCALE
            text, shown = blocks.delivery_message(_view(deps, letter, mine), facts, mine)
            posted = _post_once(deps, f"letter:{letter_id}:dm:{user}", now=now, text=text, blocks_=shown, user=user)
            if posted is None:
                raise RuntimeError(f"the DM to {user} was not sent")
            channel = posted[0]
            upload_once(deps, key=f"letter:{letter_id}:docx:{user}", channel=channel, filename=docx_name, content=letter.docx, title=docx_name)
            upload_once(deps, key=f"letter:{letter_id}:pdf:{user}", channel=channel, filename=pdf_name, content=letter.pdf, title=pdf_name)
        posted = _post_once(deps, f"letter:{letter_id}:announce", now=now, text=blocks.announcement(view, facts, users, cat), channel=deps.routing.channel)
        if posted is None:
            raise RuntimeError("the announcement was not posted")
    except Exception as exc:  # noqa: BLE001 - every step is keyed: the ticker resumes where this stopped
        log.warning("letter %s: delivery incomplete (%s: %s); the ticker tries again", letter_id, type(exc).__name__, exc)
        with transaction(deps.session_factory) as session:
            store.record_failure(session=session, letter_id=letter_id, error=f"{type(exc).__name__}: {exc}")
        return False
    with transaction(deps.session_factory) as session:
        store.set_announced(session=session, letter_id=letter_id, ts=posted[1])
        if store.set_delivered(session=session, letter_id=letter_id, now=deps.clock.now()):
            store.add_event(session=session, letter_id=letter_id, at=deps.clock.now(), actor=BOT, action="delivered", note=", ".join(users))
        acknowledged = store.settle_early_ack(session=session, letter_id=letter_id)  # a recipient acknowledged before the rest went out
    if acknowledged:
        _announce_ack(deps, letter_id, now=now)  # else the ticker's next run announces it
    _refresh_draft_message(deps, letter_id)
    return True


def attach_to_digest(deps: Deps, letter: Letter) -> bool:
    """The PDF in the thread of the owner's first digest message posted
    after the approval (once: ``letter:<id>:digest``)."""
    with transaction(deps.session_factory) as session:
        message = store.find_first_page_after(session=session, owner=letter.owner, after=letter.approved_at)
    if message is None:
        return False
    _, pdf_name = _file_names(letter)
    upload_once(
        deps, key=f"letter:{letter.id}:digest", channel=message.channel, filename=pdf_name, content=letter.pdf, title=pdf_name,
        comment=deps.catalog.t("letters.digest_comment", number=letter.number), thread_ts=message.ts,
    )
    with transaction(deps.session_factory) as session:
        store.set_digest_ts(session=session, letter_id=letter.id, ts=message.ts)
    return True


# --- acknowledgment and follow-up --------------------------------------------------------------


def acknowledge(deps: Deps, *, actor: str, letter_id: int, reply_to: ReplyTo) -> bool:
    """A recipient's Acknowledge: every one recorded; the first ends the
    follow-up and is announced in the announcement's thread. Pressed while
    the delivery is unfinished (the presser's DM went out, a later step
    failed), it is recorded at once; the letter is acknowledged, and that
    announced, when the ticker completes the delivery."""
    cat = deps.catalog_for(actor)
    letter = _load(deps, letter_id)
    now = deps.clock.now()
    if letter is not None and actor in recipients(deps, letter.owner) and LetterStatus(letter.status) is LetterStatus.ACKNOWLEDGED:
        with transaction(deps.session_factory) as session:
            store.add_event(session=session, letter_id=letter_id, at=now, actor=actor, action="acknowledged", note="again")
        deps.notifier.reply(reply_to, cat.t("letters.ack_already", number=letter.number, by=mention(letter.acknowledged_by)))
        return False
    letter = _decided(deps, actor=actor, letter_id=letter_id, action=LetterAction.ACKNOWLEDGE, reply_to=reply_to)
    if letter is None:
        return False
    with transaction(deps.session_factory) as session:
        early = store.record_early_ack(session=session, letter_id=letter_id, user=actor, now=now)  # delivery unfinished
        first = early or store.acknowledge_letter(session=session, letter_id=letter_id, user=actor, now=now)
        note = "before delivery completed" if early else "" if first else "again"
        store.add_event(session=session, letter_id=letter_id, at=now, actor=actor, action="acknowledged", note=note)
    if early:  # acknowledged, and announced, once the delivery completes (``deliver``)
        deps.notifier.reply(reply_to, cat.t("letters.ack_done", number=letter.number))
    elif first:
        _announce_ack(deps, letter_id, now=now)
        deps.notifier.reply(reply_to, cat.t("letters.ack_done", number=letter.number))
    else:
        letter = _load(deps, letter_id)
        deps.notifier.reply(reply_to, cat.t("letters.ack_already", number=letter.number, by=mention(letter.acknowledged_by)))
    return first


def _announce_ack(deps: Deps, letter_id: int, *, now: datetime) -> bool:
    letter = _load(deps, letter_id)
    if letter is None or not letter.announced_ts or letter.acknowledged_at is None:
        return False
    text = deps.catalog.t(
        "letters.ack_announce", number=letter.number, by=mention(letter.acknowledged_by),
        at=letter.acknowledged_at.astimezone(deps.timezone).strftime("%Y-%m-%d %H:%M"),
    )
    return _post_once(deps, f"letter:{letter_id}:ack", now=now, text=text, channel=deps.routing.channel, thread_ts=letter.announced_ts) is not None


def _remind(deps: Deps, letter: Letter, *, now: datetime, today: date) -> int:
    """Today's reminder to each recipient (once a working day, from the
    working day after delivery)."""
    if letter.delivered_at is None or letter.delivered_at.astimezone(deps.timezone).date() >= today:
        return 0
    sent = 0
    for user in recipients(deps, letter.owner):
        mine = deps.catalog_for(user)  # in the recipient's language
        text, shown = blocks.reminder_message(_view(deps, letter, mine), facts_from_json(letter.facts), mine)
        key = f"letter:{letter.id}:remind:{today}:{user}"
        with transaction(deps.session_factory) as session:
            before = q.find_effect(session=session, key=key)
        if before is not None and before.done_at is not None:
            continue
        if _post_once(deps, key, now=now, text=text, blocks_=shown, user=user) is not None:
            sent += 1
            with transaction(deps.session_factory) as session:
                store.add_event(session=session, letter_id=letter.id, at=now, actor=BOT, action="reminded", note=user)
    return sent


def _tell_overdue(deps: Deps, letter: Letter, *, now: datetime) -> bool:
    """Past its deadline unacknowledged: ``overdue``, and the CS lead gets one DM with the facts."""
    with transaction(deps.session_factory) as session:
        if store.mark_overdue(session=session, letter_id=letter.id, now=now):
            store.add_event(session=session, letter_id=letter.id, at=now, actor=BOT, action="overdue", note=str(letter.reply_by))
        reminders = sum(1 for e in store.list_events(session=session, letter_id=letter.id) if e.action == "reminded")
        letter = store.get_letter(session=session, letter_id=letter.id)
    lead = deps.catalog_for(deps.routing.cs_lead)
    text = blocks.overdue_message(_view(deps, letter, lead), facts_from_json(letter.facts), recipients(deps, letter.owner), reminders, lead, deps.timezone)
    return _post_once(deps, f"letter:{letter.id}:overdue", now=now, text=text, user=deps.routing.cs_lead) is not None


def run(deps: Deps, *, now: datetime) -> LetterReport:
    """The ``letters`` ticker job: the K-days trigger; then, in working time,
    drafts not yet sent, deliveries not finished, reminders, overdue letters;
    and (any time) the PDF on the owner's next digest message."""
    report = LetterReport()
    report.drafted = draft_for_escalations(deps, now=now)
    working = may_message_people(deps, now)
    today = now.astimezone(deps.timezone).date()
    with transaction(deps.session_factory) as session:
        open_letters = store.list_letters(session=session, statuses=[
            LetterStatus.DRAFT, LetterStatus.APPROVED, LetterStatus.DELIVERED, LetterStatus.OVERDUE, LetterStatus.ACKNOWLEDGED,
        ])
    failing = []
    for letter in open_letters:
        status = LetterStatus(letter.status)
        try:
            if status is LetterStatus.DRAFT:
                if working and letter.draft_ts is None and send_draft(deps, letter.id, now=now):
                    report.drafts_sent.append(letter.id)
                continue
            if status is LetterStatus.APPROVED:
                if working and deliver(deps, letter.id, now=now):
                    report.delivered.append(letter.id)
                elif working:
                    failing.append(letter.number)
                continue
            if letter.digest_ts is None and attach_to_digest(deps, letter):
                report.attached.append(letter.id)
            if not working:
                continue
            if status is LetterStatus.ACKNOWLEDGED:
                _announce_ack(deps, letter.id, now=now)
                continue
            report.reminded += _remind(deps, letter, now=now, today=today)
            if status is LetterStatus.OVERDUE or (letter.reply_by is not None and today > letter.reply_by):
                if _tell_overdue(deps, letter, now=now) and status is LetterStatus.DELIVERED:
                    report.overdue.append(letter.id)
        except Exception:  # noqa: BLE001 - one letter's trouble stops none of the others
            log.warning("letter %s: follow-up failed; the next tick tries again", letter.id, exc_info=True)
            failing.append(letter.number or f"#{letter.id}")
    if failing:
        report.problem = deps.catalog.t("letters.problem", numbers=deps.catalog.t("letters.list_separator").join(str(f) for f in failing))
    return report


def list_letters_text(deps: Deps, *, catalog: Catalog | None = None) -> str:
    """Every letter, in ``catalog`` (the reader's; default BOT_LOCALE)."""
    cat = catalog or deps.catalog
    with transaction(deps.session_factory) as session:
        letters = store.list_letters(session=session)
    return blocks.list_text([_view(deps, l, cat) for l in letters], cat, deps.timezone)


def tell_letters(deps: Deps, *, reply_to: ReplyTo) -> str:
    """``/reject letters``: every letter, to anyone, privately."""
    text = list_letters_text(deps, catalog=deps.catalog_for(reply_to.user))
    deps.notifier.reply(reply_to, text)
    return text

