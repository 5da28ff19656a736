"""``/reject away``: naming, ending and listing stand-ins for owners on leave.

An owner names a stand-in for themselves; a manager in the owner's
escalation list, or the CS lead, names one for an owner (``for @owner``).
The stand-in is told by DM, and so is the owner when someone else named or
ended it; each DM once (a ledger key per stand-in, person and event; a
failed DM is sent again by the sweep, see ``followup.ONCE_PREFIXES``). The
caller gets a private answer. Naming replaces the stand-in in force.

Errors: ``CommandError`` for a date out of range (the handler's error
handler answers it); every other refusal is answered here.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot.core.away import AwayKind, AwayRequest, check_until, naming_role, owners_of, period_end
from bot.core.formats import format_date
from bot.core.routing import Owner
from bot.core.text import mention
from bot.gateway import ReplyTo
from bot.i18n import Catalog
from bot.services.deps import Deps
from bot.services.followup import _send_once
from storage import standins
from storage.db import transaction

log = logging.getLogger(__name__)


def away(deps: Deps, *, actor: str, request: AwayRequest, reply_to: ReplyTo) -> str:
    """Carry out ``request`` for ``actor``; the answer they were sent."""
    if request.kind is AwayKind.LIST:
        return _tell(deps, reply_to, list_text(deps, catalog=deps.catalog_for(actor)))
    cat = deps.catalog_for(actor)
    owner_user = request.owner_user or actor
    owners = owners_of(deps.routing, owner_user)
    if not owners:
        if request.owner_user is None:
            return _tell(deps, reply_to, cat.t("away.caller_not_owner"))
        return _tell(deps, reply_to, cat.t("away.not_an_owner", user=mention(owner_user)))
    roles = {o.name: naming_role(deps.routing, actor, o) for o in owners}
    if any(role is None for role in roles.values()):
        return _tell(deps, reply_to, cat.t("away.not_allowed", owner=_names(owners), user=mention(owner_user)))
    if request.kind is AwayKind.OFF:
        return _end(deps, actor=actor, owners=owners, roles=roles, owner_user=owner_user, reply_to=reply_to)
    return _name(deps, actor=actor, request=request, owners=owners, roles=roles, owner_user=owner_user, reply_to=reply_to)


def _names(owners: Sequence[Owner]) -> str:
    return "、".join(o.name for o in owners)


def _tell(deps: Deps, reply_to: ReplyTo, text: str) -> str:
    deps.notifier.reply(reply_to, text)
    return text


def _name(deps: Deps, *, actor: str, request: AwayRequest, owners, roles, owner_user: str, reply_to: ReplyTo) -> str:
    cat = deps.catalog_for(actor)
    assert request.stand_in is not None and request.until is not None
    if request.stand_in == owner_user:
        return _tell(deps, reply_to, cat.t("away.self", user=mention(owner_user)))
    now = deps.clock.now()
    check_until(request.until, now.astimezone(deps.timezone).date())  # CommandError: answered by the error handler
    ends_at = period_end(request.until, deps.timezone)
    with transaction(deps.session_factory) as session:  # one row for the person: it covers all their entries, under any name
        first, replaced = standins.name_stand_in(
            session=session, owner_user=owner_user, owners=_names(owners), user=request.stand_in, until=request.until,
            ends_at=ends_at, by=actor, role=roles[owners[0].name], now=now,
        )
    told: list[str] = []
    params = {"owner": _names(owners), "owner_user": mention(owner_user), "user": mention(request.stand_in), "by": mention(actor)}

    def say(catalog, key: str) -> str:  # in the reader's language, their date too
        return catalog.t(key, **params, until=format_date(request.until, catalog))

    if request.stand_in != actor and _dm(deps, f"away:{first.id}:set:{request.stand_in}", request.stand_in, say(deps.catalog_for(request.stand_in), "away.dm_stand_in")):
        told.append(mention(request.stand_in))
    if owner_user != actor and _dm(deps, f"away:{first.id}:set:{owner_user}", owner_user, say(deps.catalog_for(owner_user), "away.dm_owner_set")):
        told.append(mention(owner_user))
    text = say(cat, "away.set_done")
    previous = sorted({s.user for s in replaced if s.user != request.stand_in})
    if previous:
        text += "\n" + cat.t("away.replaced", users=", ".join(map(mention, previous)))
    if told:
        text += "\n" + cat.t("away.told", users=", ".join(told))
    return _tell(deps, reply_to, text)


def _end(deps: Deps, *, actor: str, owners, roles, owner_user: str, reply_to: ReplyTo) -> str:
    cat = deps.catalog_for(actor)
    now = deps.clock.now()
    with transaction(deps.session_factory) as session:
        ended = standins.end_stand_ins(session=session, owner_user=owner_user, owners=_names(owners), by=actor, role=roles[owners[0].name], now=now)
    if not ended:
        return _tell(deps, reply_to, cat.t("away.none_to_end", owner=_names(owners)))
    told: list[str] = []
    for stand_in in ended:
        params = {"owner": _names(owners), "owner_user": mention(owner_user), "user": mention(stand_in.user), "by": mention(actor)}
        if stand_in.user != actor and _dm(deps, f"away:{stand_in.id}:end:{stand_in.user}", stand_in.user, deps.catalog_for(stand_in.user).t("away.dm_stand_in_ended", **params)):
            told.append(mention(stand_in.user))
    if owner_user != actor:
        first = ended[0]
        params = {"owner": _names(owners), "user": ", ".join(sorted({mention(s.user) for s in ended})), "by": mention(actor)}
        if _dm(deps, f"away:{first.id}:end:{owner_user}", owner_user, deps.catalog_for(owner_user).t("away.dm_owner_ended", **params)):
            told.append(mention(owner_user))
    text = cat.t("away.off_done", owner=_names(owners), user=", ".join(sorted({mention(s.user) for s in ended})))
    if told:
        text += "\n" + cat.t("away.told", users=", ".join(dict.fromkeys(told)))
    return _tell(deps, reply_to, text)


def _dm(deps: Deps, key: str, user: str, text: str) -> bool:
    """A DM sent once under ``key``; True when it went out now. A failed
    send stays in the ledger and the sweep sends it later."""
    sent = _send_once(deps, key, user=user, text=text, now=deps.clock.now())
    if not sent:
        log.warning("the stand-in DM %s to %s did not go out now; the sweep retries it", key, user)
    return sent


def list_text(deps: Deps, *, catalog: Catalog | None = None) -> str:
    """The stand-ins in force now, under their owners' names in the routing
    file now (a renamed owner keeps their stand-in), by routing-file order;
    in ``catalog`` (the reader's; default BOT_LOCALE)."""
    cat = catalog or deps.catalog
    with transaction(deps.session_factory) as session:
        rows = list(standins.list_in_force(session=session, now=deps.clock.now()))
    if not rows:
        return cat.t("away.list_none")
    order: dict[str, int] = {}
    for i, o in enumerate(deps.routing.owners):
        order.setdefault(o.user, i)
    rows.sort(key=lambda s: (order.get(s.owner_user, len(order)), s.id))
    lines = [cat.t("away.list_head", count=len(rows))]
    for s in rows:
        owners = owners_of(deps.routing, s.owner_user)
        lines.append(
            cat.t(
                "away.list_line", owner=_names(owners) if owners else "—", owner_user=mention(s.owner_user), user=mention(s.user),
                until=format_date(s.until, cat), by=mention(s.set_by),
            )
        )
    return "\n".join(lines)
