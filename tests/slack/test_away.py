"""``/reject away`` end to end: signed slash commands and clicks through the
real app from ``create_app`` into our fake Slack Web API, on SQLite and
PostgreSQL. The sample export is imported and Friday 2026-11-27's digest
posted at 08:30; then stand-ins are named, used, ended, and expire.

Assertions look at what people see (private answers, DMs, channel posts)
and what is stored (stand-in rows, audit rows, items)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlmodel import select
from test_core_loop import (
    CHANNEL,
    CS_AGENT,
    CS_LEAD,
    DELEGATE_Y,
    OPS_HEAD,
    Y_FIRST,
    Z_ITEM,
    Y,
    Z,
    at,
    click,
    command,
    digest,  # noqa: F401  (the fixture)
    item_id,
    replies,
    status,
)
from test_followup_sweep import eyes, follow_ups, texts_to, thread_reply

from storage.db import transaction
from storage.models import AuditEntry, StandIn

LI = "U0LINA"  # a colleague of Y's, in no role of the routing file
BOSS = "U0LOGIBOSS"  # second in both owners' chains


def stand_ins(session_factory) -> list[tuple]:
    with transaction(session_factory) as session:
        rows = session.exec(select(StandIn).order_by(StandIn.id)).all()
    return [(s.owner_user, s.user, s.until.isoformat(), s.set_by, s.ended_by) for s in rows]


def away_audit(session_factory) -> list[tuple]:
    with transaction(session_factory) as session:
        rows = session.exec(select(AuditEntry).where(AuditEntry.stand_in_id.is_not(None)).order_by(AuditEntry.id)).all()
    return [(a.actor, a.role, a.surface, a.action, a.item_id) for a in rows]


def dms(fake, user: str) -> list[str]:
    return texts_to(fake, f"D{user}")


def answer(fake) -> str:
    """The one private answer to the last command."""
    (text,) = replies(fake)
    fake.clear()
    return text


@pytest.fixture(autouse=True)
def in_working_hours(clock, digest) -> None:  # noqa: F811
    """After the 08:30 digest, in working time: the DMs go out at once."""
    clock.set(at("2026-11-27 09:30"))


# --- naming, listing, ending -----------------------------------------------------------


def test_an_owner_names_a_stand_in_who_is_told_by_dm(bot, signer, fake_slack, session_factory, digest) -> None:  # noqa: F811
    command(bot, signer, fake_slack, f"away <@{LI}|li.na> until 2026-11-30")

    assert dms(fake_slack, LI) == [
        f"<@{Y}> named you stand-in for 大件配送 (<@{Y}>) through 30 Nov 2026. You may confirm, dispute and fix its items "
        "(buttons, `/reject`, ✅), and its reminders will mention you."
    ]
    assert dms(fake_slack, Y) == []  # the owner did it themselves
    text = answer(fake_slack)
    assert text.startswith(f"<@{LI}> stands in for 大件配送 (<@{Y}>) through 30 Nov 2026")
    assert text.endswith(f"Told by DM: <@{LI}>.")
    assert stand_ins(session_factory) == [(Y, LI, "2026-11-30", Y, None)]
    assert away_audit(session_factory) == [(Y, "owner", "command", "away_set", None)]


def test_anyone_lists_the_stand_ins_in_force(bot, signer, fake_slack, session_factory, digest) -> None:  # noqa: F811
    command(bot, signer, fake_slack, "away")
    assert answer(fake_slack) == "No stand-ins are in force. `/reject away @person until YYYY-MM-DD` names one."

    command(bot, signer, fake_slack, f"away <@{LI}|li> until 2026-12-04")
    command(bot, signer, fake_slack, f"away <@{Y}|y> until 2026-11-27", user=Z)
    fake_slack.clear()
    command(bot, signer, fake_slack, "away", user=CS_AGENT)

    assert answer(fake_slack) == (
        "*Stand-ins in force (2):*\n"
        f"• 大件配送 (<@{Y}>): <@{LI}> through 4 Dec 2026, named by <@{Y}>\n"
        f"• 小件配送 (<@{Z}>): <@{Y}> through 27 Nov 2026, named by <@{Z}>"
    )


@pytest.mark.parametrize(("caller", "role"), [(OPS_HEAD, "manager"), (BOSS, "manager"), (CS_LEAD, "cs_lead")])
def test_a_manager_or_the_cs_lead_names_one_for_an_owner_and_both_are_told(bot, signer, fake_slack, session_factory, digest, caller, role) -> None:  # noqa: F811
    command(bot, signer, fake_slack, f"away <@{LI}|li> until 2026-12-01 for <@{Z}|z>", user=caller)

    (to_li,) = dms(fake_slack, LI)
    (to_z,) = dms(fake_slack, Z)
    assert to_li.startswith(f"<@{caller}> named you stand-in for 小件配送 (<@{Z}>) through 1 Dec 2026.")
    assert to_z.startswith(f"<@{caller}> named <@{LI}> your stand-in for 小件配送 through 1 Dec 2026.")
    assert answer(fake_slack).endswith(f"Told by DM: <@{LI}>, <@{Z}>.")
    assert stand_ins(session_factory) == [(Z, LI, "2026-12-01", caller, None)]
    assert away_audit(session_factory) == [(caller, role, "command", "away_set", None)]


def test_naming_again_replaces_the_stand_in_and_says_so(bot, signer, fake_slack, session_factory, digest) -> None:  # noqa: F811
    command(bot, signer, fake_slack, f"away <@{LI}|li> until 2026-12-01")
    fake_slack.clear()
    command(bot, signer, fake_slack, f"away <@{DELEGATE_Y}|d> until 2026-12-02 for <@{Y}|y>", user=OPS_HEAD)

    assert f"This replaces the previous stand-in, <@{LI}>." in answer(fake_slack)
    assert stand_ins(session_factory) == [(Y, LI, "2026-12-01", Y, OPS_HEAD), (Y, DELEGATE_Y, "2026-12-02", OPS_HEAD, None)]
    assert [a[3] for a in away_audit(session_factory)] == ["away_set", "away_end", "away_set"]


def test_the_owner_ends_it_early(bot, signer, fake_slack, session_factory, digest) -> None:  # noqa: F811
    command(bot, signer, fake_slack, f"away <@{LI}|li> until 2026-12-01")
    fake_slack.clear()

    command(bot, signer, fake_slack, "away off")

    assert answer(fake_slack) == f"The stand-in for 大件配送 has ended: <@{LI}> no longer answers for it.\nTold by DM: <@{LI}>."
    assert stand_ins(session_factory) == [(Y, LI, "2026-12-01", Y, Y)]
    assert away_audit(session_factory) == [(Y, "owner", "command", "away_set", None), (Y, "owner", "command", "away_end", None)]
    command(bot, signer, fake_slack, "away off")
    assert answer(fake_slack) == "No stand-in is in force for 大件配送; nothing changed."
    command(bot, signer, fake_slack, "away", user=LI)
    assert answer(fake_slack).startswith("No stand-ins are in force.")


def test_a_manager_ends_it_for_an_owner_and_both_are_told(bot, signer, fake_slack, session_factory, digest) -> None:  # noqa: F811
    command(bot, signer, fake_slack, f"away <@{LI}|li> until 2026-12-01")
    fake_slack.clear()

    command(bot, signer, fake_slack, f"away off for <@{Y}|y>", user=OPS_HEAD)

    assert dms(fake_slack, LI) == [f"<@{OPS_HEAD}> ended your standing in for 大件配送 (<@{Y}>); its items and reminders are theirs again."]
    assert dms(fake_slack, Y) == [f"<@{OPS_HEAD}> ended the stand-in <@{LI}> for 大件配送; your items and reminders are yours again."]
    assert stand_ins(session_factory)[0][4] == OPS_HEAD
    assert away_audit(session_factory)[-1] == (OPS_HEAD, "manager", "command", "away_end", None)


# --- refusals ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("caller", "text", "expected"),
    [
        (DELEGATE_Y, f"away <@{LI}|li> until 2026-12-01 for <@{Y}|y>", f"Only <@{Y}> themselves, a manager in their escalation list, or the CS lead may name or end a stand-in for 大件配送."),
        (CS_AGENT, f"away <@{LI}|li> until 2026-12-01 for <@{Y}|y>", "Only <@U0OWNERY> themselves"),
        (Z, f"away <@{LI}|li> until 2026-12-01 for <@{Y}|y>", "Only <@U0OWNERY> themselves"),  # another owner
        (LI, f"away off for <@{Y}|y>", "Only <@U0OWNERY> themselves"),
        (OPS_HEAD, f"away <@{LI}|li> until 2026-12-01", "Only an owner in the routing file names a stand-in for themselves."),
        (OPS_HEAD, f"away <@{LI}|li> until 2026-12-01 for <@{CS_AGENT}|wang>", f"<@{CS_AGENT}> is not an owner in the routing file"),
        (Y, f"away <@{Y}|y> until 2026-12-01", f"<@{Y}> cannot stand in for themselves."),
        (OPS_HEAD, f"away <@{Z}|z> until 2026-12-01 for <@{Z}|z>", f"<@{Z}> cannot stand in for themselves."),
        (Y, f"away <@{LI}|li> until 2026-11-26", "2026-11-26 is already past (today is 2026-11-27)."),
        (Y, f"away <@{LI}|li> until 2027-02-26", "2027-02-26 is more than 90 days ahead. Name a stand-in until 2027-02-25 at the latest"),
        (Y, f"away <@{LI}|li> until 2026-02-30", "`2026-02-30` is not a date."),
        (Y, "away @li.na until 2026-12-01", "I could not tell who `@li.na` is. Pick the person from the list Slack offers while you type @"),
        (Y, f"away <@{LI}|li> 2026-12-01", "Until when?"),
    ],
)
def test_refused_with_what_to_do_and_nothing_stored(bot, signer, fake_slack, session_factory, digest, caller, text, expected) -> None:  # noqa: F811
    response = command(bot, signer, fake_slack, text, user=caller)

    assert response.status == 200
    reply = answer(fake_slack)
    assert reply.startswith(expected)
    assert "nothing changed" in reply.lower()
    assert stand_ins(session_factory) == [] and away_audit(session_factory) == []
    assert fake_slack.calls_to("chat.postMessage") == []


def test_until_today_is_accepted_and_runs_to_midnight(bot, signer, fake_slack, session_factory, digest) -> None:  # noqa: F811
    command(bot, signer, fake_slack, f"away <@{LI}|li> until 2026-11-27")
    assert stand_ins(session_factory) == [(Y, LI, "2026-11-27", Y, None)]


# --- acting as the stand-in -----------------------------------------------------------------


def test_the_stand_in_confirms_an_item_by_button(bot, signer, fake_slack, session_factory, clock, digest) -> None:  # noqa: F811
    order = Y_FIRST[0]
    click(bot, signer, fake_slack, action_id="item.confirm", value=str(item_id(session_factory, order)), user=LI)
    assert status(session_factory, order) == "awaiting"  # not yet a stand-in: refused
    command(bot, signer, fake_slack, f"away <@{LI}|li> until 2026-11-30")
    fake_slack.clear()
    clock.set(at("2026-11-27 10:00"))

    click(bot, signer, fake_slack, action_id="item.confirm", value=str(item_id(session_factory, order)), user=LI)

    assert status(session_factory, order) == "confirmed"
    with transaction(session_factory) as session:
        (row,) = session.exec(select(AuditEntry).where(AuditEntry.item_id == item_id(session_factory, order), AuditEntry.action == "confirm")).all()
    assert (row.actor, row.role, row.surface) == (LI, "delegate", "button")


def test_the_stand_in_answers_by_command_only_for_the_owner_it_stands_in_for(bot, signer, fake_slack, session_factory, digest) -> None:  # noqa: F811
    command(bot, signer, fake_slack, f"away <@{LI}|li> until 2026-11-30")

    command(bot, signer, fake_slack, f"confirm {Y_FIRST[1]} {Z_ITEM}", user=LI)

    assert status(session_factory, Y_FIRST[1]) == "confirmed"
    assert status(session_factory, Z_ITEM) == "awaiting"


def test_the_stand_in_is_gone_after_the_until_day(bot, signer, fake_slack, session_factory, clock, digest) -> None:  # noqa: F811
    command(bot, signer, fake_slack, f"away <@{LI}|li> until 2026-11-30")  # Monday
    clock.set(at("2026-11-30 23:59"))
    command(bot, signer, fake_slack, f"confirm {Y_FIRST[0]}", user=LI)
    assert status(session_factory, Y_FIRST[0]) == "confirmed"  # the last day, to its end
    fake_slack.clear()

    clock.set(at("2026-12-01 00:00"))
    command(bot, signer, fake_slack, f"confirm {Y_FIRST[1]}", user=LI)

    assert status(session_factory, Y_FIRST[1]) == "awaiting"
    fake_slack.clear()
    command(bot, signer, fake_slack, "away")
    assert answer(fake_slack).startswith("No stand-ins are in force.")
    assert stand_ins(session_factory) == [(Y, LI, "2026-11-30", Y, None)]  # expired by time: the record stays as it was


def test_a_nudge_mentions_the_stand_in_instead_of_the_owner(bot, signer, fake_slack, session_factory, clock, digest) -> None:  # noqa: F811
    command(bot, signer, fake_slack, f"away <@{LI}|li> until 2026-11-30")
    fake_slack.clear()
    clock.set(at("2026-11-27 11:00"))

    bot.services.sweep()

    y_nudge = [t for t in texts_to(fake_slack, CHANNEL, _first_ts(session_factory, "大件配送")) if "item(s)" in t]
    z_nudge = [t for t in texts_to(fake_slack, CHANNEL, _first_ts(session_factory, "小件配送")) if "item(s)" in t]
    assert len(y_nudge) == 1 and y_nudge[0].startswith(f"<@{LI}>") and f"<@{Y}>" not in y_nudge[0]
    assert len(z_nudge) == 1 and z_nudge[0].startswith(f"<@{Z}>")  # no stand-in: the owner
    assert sorted((r.kind, r.recipient) for r in follow_ups(session_factory)) == [("nudge", LI), ("nudge", Z)]


def test_a_dm_that_fails_is_sent_once_by_the_next_sweep(bot, signer, fake_slack, session_factory, clock, digest) -> None:  # noqa: F811
    fake_slack.fail_next("chat.postMessage", error="channel_not_found")
    command(bot, signer, fake_slack, f"away <@{LI}|li> until 2026-11-30")

    reply = answer(fake_slack)
    assert "Told by DM" not in reply and stand_ins(session_factory)  # stored, and not claimed to be told
    clock.set(at("2026-11-27 10:05"))
    bot.services.sweep()
    bot.services.sweep()

    assert len(dms(fake_slack, LI)) == 1


def test_a_stand_in_named_before_working_hours_is_told_at_the_opening(bot, signer, fake_slack, session_factory, clock, digest) -> None:  # noqa: F811
    clock.set(at("2026-11-27 08:40"))
    command(bot, signer, fake_slack, f"away <@{LI}|li> until 2026-11-30")

    assert stand_ins(session_factory) and dms(fake_slack, LI) == []  # in force at once; the DM waits for 09:00
    clock.set(at("2026-11-27 08:59"))
    bot.services.sweep()
    assert dms(fake_slack, LI) == []
    clock.set(at("2026-11-27 09:00"))
    bot.services.sweep()
    bot.services.sweep()
    assert len(dms(fake_slack, LI)) == 1


# --- a renamed owner keeps their stand-in; what a stand-in does counts ------------------------------


def rename_owner(bot, old: str, new: str) -> None:
    """The routing file renames an owner entry, as a hot reload does."""
    routing = bot.services.deps.routing
    owners = tuple(replace(o, name=new) if o.name == old else o for o in routing.owners)
    assert owners != routing.owners
    bot.services.deps.holder.replace(replace(routing, owners=owners))


def test_a_renamed_owner_keeps_their_stand_in(bot, signer, fake_slack, session_factory, clock, digest) -> None:  # noqa: F811
    command(bot, signer, fake_slack, f"away <@{LI}|li> until 2026-11-30")
    fake_slack.clear()
    y_thread = _first_ts(session_factory, "大件配送")
    rename_owner(bot, "大件配送", "大件配送中心")
    clock.set(at("2026-11-27 11:00"))

    bot.services.sweep()  # the nudge in the owner's thread mentions the stand-in, not the owner on leave
    y_nudge = [t for t in texts_to(fake_slack, CHANNEL, y_thread) if "item(s)" in t]
    assert len(y_nudge) == 1 and y_nudge[0].startswith(f"<@{LI}>") and f"<@{Y}>" not in y_nudge[0]
    assert sorted((r.kind, r.recipient) for r in follow_ups(session_factory)) == [("nudge", LI), ("nudge", Z)]
    fake_slack.clear()

    command(bot, signer, fake_slack, f"confirm {Y_FIRST[0]}", user=LI)  # the stand-in still answers for them
    assert status(session_factory, Y_FIRST[0]) == "confirmed"
    fake_slack.clear()

    command(bot, signer, fake_slack, "away", user=CS_AGENT)  # listed under the owner's name now
    assert answer(fake_slack) == f"*Stand-ins in force (1):*\n• 大件配送中心 (<@{Y}>): <@{LI}> through 30 Nov 2026, named by <@{Y}>"

    command(bot, signer, fake_slack, "away off")  # and the owner ends it under the new name
    assert answer(fake_slack) == f"The stand-in for 大件配送中心 has ended: <@{LI}> no longer answers for it.\nTold by DM: <@{LI}>."
    assert stand_ins(session_factory) == [(Y, LI, "2026-11-30", Y, Y)]
    assert away_audit(session_factory) == [(Y, "owner", "command", "away_set", None), (Y, "owner", "command", "away_end", None)]
    command(bot, signer, fake_slack, f"confirm {Y_FIRST[1]}", user=LI)
    assert status(session_factory, Y_FIRST[1]) == "awaiting"


def test_a_stand_in_s_reply_in_the_owner_s_thread_counts_as_activity(bot, signer, fake_slack, session_factory, clock, digest) -> None:  # noqa: F811
    command(bot, signer, fake_slack, f"away <@{LI}|li> until 2026-11-30")
    fake_slack.clear()
    clock.set(at("2026-11-27 10:30"))

    thread_reply(bot, signer, user=LI, thread_ts=_first_ts(session_factory, "大件配送"))
    clock.set(at("2026-11-27 11:00"))
    bot.services.sweep()

    assert [(r.kind, r.recipient) for r in follow_ups(session_factory)] == [("nudge", Z)]  # the quiet period restarted at 10:30


def test_a_stand_in_s_eyes_on_the_owner_s_digest_count_as_activity(bot, signer, fake_slack, session_factory, clock, digest) -> None:  # noqa: F811
    command(bot, signer, fake_slack, f"away <@{LI}|li> until 2026-11-30")
    fake_slack.clear()
    clock.set(at("2026-11-27 10:30"))

    eyes(bot, signer, user=LI, ts=_first_ts(session_factory, "大件配送"))
    (told,) = fake_slack.calls_to("chat.postEphemeral")
    assert told.params["user"] == LI and told.params["text"].startswith("👀 Acknowledged: reminders on this digest pause")
    clock.set(at("2026-11-27 11:00"))
    bot.services.sweep()

    assert [(r.kind, r.recipient) for r in follow_ups(session_factory)] == [("nudge", Z)]
    with transaction(session_factory) as session:
        from storage.models import DigestMessage

        first = session.exec(select(DigestMessage).where(DigestMessage.owner == "大件配送", DigestMessage.page == 0)).one()
    assert first.acknowledged_by == LI


def test_next_and_find_for_a_stand_in_show_the_owner_s_items(bot, signer, fake_slack, session_factory, digest) -> None:  # noqa: F811
    command(bot, signer, fake_slack, "next", user=LI)  # not yet a stand-in
    assert answer(fake_slack).startswith("Nothing is planned")
    command(bot, signer, fake_slack, f"find {Y_FIRST[0]}", user=LI)
    assert answer(fake_slack).startswith("You are neither in customer service nor an owner")
    command(bot, signer, fake_slack, f"away <@{LI}|li> until 2026-11-30")
    fake_slack.clear()
    command(bot, signer, fake_slack, "next")
    owners_view = answer(fake_slack)

    command(bot, signer, fake_slack, "next", user=LI)
    assert answer(fake_slack) == owners_view and "大件配送" in owners_view and "小件配送" not in owners_view
    command(bot, signer, fake_slack, f"find {Y_FIRST[0]}", user=LI)
    assert Y_FIRST[0] in answer(fake_slack)
    command(bot, signer, fake_slack, f"find {Z_ITEM}", user=LI)
    assert answer(fake_slack) == f"Nothing you may see matches “{Z_ITEM}”."  # only the owner it stands in for


def _first_ts(session_factory, owner: str) -> str:
    from storage.models import DigestMessage

    with transaction(session_factory) as session:
        return session.exec(select(DigestMessage.ts).where(DigestMessage.owner == owner, DigestMessage.page == 0)).one()
