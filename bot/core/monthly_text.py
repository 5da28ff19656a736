"""The monthly notice as Slack messages: Block Kit and fallback text, in the
catalog's language. Pure: figures in, ``(text, blocks)`` messages out.

Every message keeps within Slack's limits: at most ``MAX_BLOCKS`` blocks
(Slack allows 50: https://docs.slack.dev/reference/block-kit/blocks), each
section's text at most ``SECTION_LIMIT`` characters (Slack allows 3000:
https://docs.slack.dev/reference/block-kit/blocks/section-block), and the
blocks' text within ``bot.core.text.MESSAGE_TEXT_BUDGET``. What does not fit
goes into continuation messages, posted in the notice's thread.

- ``notice_messages``: the notice (or its correction, or ``/reject month``'s
  month to date), optionally only some owners and without CS's part.
- ``manager_messages``: a manager's DM, the owners below them.
- ``agent_message``: a callback agent's DM, their part.
- ``describe_changes``: what changed between two figures of one month (a
  correction says so).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace
from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.core.formats import format_money
from bot.core.monthly import AgentFigures, Counts, MonthFigures, OwnerFigures, Trend
from bot.core.text import MESSAGE_TEXT_BUDGET, TOP_TEXT_BUDGET, cut, esc, esc_cut, text_size
from bot.i18n import Catalog

Message = tuple[str, list[dict]]

MAX_BLOCKS = 45  # Slack's limit is 50 blocks a message: a margin
SECTION_LIMIT = 2900  # Slack's limit is 3000 characters a section's text: a margin
MESSAGE_BUDGET = MESSAGE_TEXT_BUDGET - 1000  # room for the header and context of a continuation
CORRECTIONS_SHOWN = 100  # CS's corrections listed by name; the rest are counted (the XLSX lists all)
NOTE_LIMIT = 200


def fmt_duration(value: timedelta | None, cat: Catalog) -> str:
    if value is None:
        return cat.t("monthly.no_time")
    minutes = int(value.total_seconds() // 60)
    return cat.t("monthly.duration", hours=minutes // 60, minutes=f"{minutes % 60:02d}")


def trend_text(trend: Trend, cat: Catalog) -> str:
    if trend.previous is None:
        return cat.t("monthly.trend_none")
    if trend.percent is None:  # previous 0
        return cat.t("monthly.trend_same", previous=0) if trend.current == 0 else cat.t("monthly.trend_from_zero")
    if trend.current == trend.previous:
        return cat.t("monthly.trend_same", previous=trend.previous)
    key = "monthly.trend_up" if trend.current > trend.previous else "monthly.trend_down"
    return cat.t(key, percent=trend.percent, previous=trend.previous)


def _counts_lines(counts: Counts, cat: Catalog) -> list[str]:
    return [
        cat.t("monthly.counts", posted=counts.posted, confirmed=counts.confirmed, deemed=counts.deemed, disputed=counts.disputed,
              upheld=counts.upheld, overruled=counts.overruled, open=counts.open),
        cat.t("monthly.work", fixed=counts.fixed, fixed_in_window=counts.fixed_in_window, answer=fmt_duration(counts.answer_median, cat),
              fix=fmt_duration(counts.fix_median, cat), escalations=counts.escalations),
    ]


def _penalty_line(count: int, per_item: int | None, cat: Catalog) -> str:
    if per_item is None:
        return cat.t("monthly.penalty_count", count=count)
    return cat.t("monthly.penalty_money", count=count, per_item=per_item, amount=count * per_item)


def owner_lines(owner: OwnerFigures, figures: MonthFigures, cat: Catalog) -> list[str]:
    """An owner's part: head with the trend, figures, penalty, then per branch."""
    lines = [cat.t("monthly.owner_head", owner=esc(owner.owner), trend=trend_text(owner.trend, cat))]
    lines += _counts_lines(owner.counts, cat)
    lines.append(_penalty_line(owner.counts.mistaken, figures.per_item, cat))
    if owner.counts.reported:  # the good behaviour is shown too: reports that came before CS's record
        lines.append(cat.t("reports.monthly_owner", count=owner.counts.reported))
    for b in owner.branches:
        c = b.counts
        lines.append(cat.t(
            "monthly.branch_line", branch=esc(b.branch), posted=c.posted, confirmed=c.confirmed, deemed=c.deemed,
            upheld=c.upheld, overruled=c.overruled, open=c.open, fixed=c.fixed, fixed_in_window=c.fixed_in_window,
        ))
    return lines


def _agent_name(agent: AgentFigures, cat: Catalog) -> str:
    return esc(agent.agent) if agent.agent.strip() else cat.t("monthly.agent_unknown")


def cs_lines(figures: MonthFigures, cat: Catalog, tz: ZoneInfo) -> list[list[str]]:
    """CS's part, as groups of lines (one section or more each): accuracy per
    agent, own corrections, penalties in total."""
    groups: list[list[str]] = []
    if figures.agents:
        groups.append([cat.t("monthly.cs_head")] + [
            cat.t("monthly.agent_line", agent=_agent_name(a, cat), posted=a.posted, disputed=a.disputed, upheld=a.upheld,
                  voided=a.voided, penalty=a.penalty)
            for a in figures.agents
        ])
    if figures.corrections:
        shown = figures.corrections[:CORRECTIONS_SHOWN]
        lines = [cat.t("monthly.corrections_head", count=len(figures.corrections))]
        lines += [
            cat.t("monthly.correction_item", order=esc(c.order_no), rejected_on=c.rejected_on.isoformat(), owner=esc(c.owner),
                  agent=esc(c.agent) or cat.t("monthly.agent_unknown"), at=c.at.astimezone(tz).strftime("%m-%d %H:%M"),
                  actor=_who(c.actor), note=esc_cut(c.note, NOTE_LIMIT))
            for c in shown
        ]
        if len(figures.corrections) > len(shown):
            lines.append(cat.t("monthly.corrections_more", count=len(figures.corrections) - len(shown)))
        groups.append(lines)
    return groups


def _who(user: str) -> str:
    return f"<@{user}>" if user[:1] in ("U", "W") and user.isalnum() else esc(user)


def totals_lines(figures: MonthFigures, cat: Catalog) -> list[str]:
    logistics = (
        cat.t("monthly.logistics_count", count=figures.totals.mistaken) if figures.per_item is None
        else cat.t("monthly.logistics_money", amount=figures.logistics_penalty)
    )
    return [cat.t("monthly.totals_head"), *_counts_lines(figures.totals, cat),
            cat.t("monthly.penalty_totals", logistics=logistics, cs=figures.cs_penalty)]


def _sections(lines: Sequence[str]) -> list[str]:
    """``lines`` joined into as few section texts as keep within ``SECTION_LIMIT``
    (a line longer than that alone is cut)."""
    out: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        line = cut(line, SECTION_LIMIT) if text_size(line) > SECTION_LIMIT else line
        step = text_size(line) + (1 if current else 0)
        if current and size + step > SECTION_LIMIT:
            out.append("\n".join(current))
            current, size = [], 0
            step = text_size(line)
        current.append(line)
        size += step
    if current:
        out.append("\n".join(current))
    return out


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _pack(head: list[dict], groups: Sequence[Sequence[str]], *, fallback: str, continued: str) -> list[Message]:
    """The blocks ``head`` then a section (or more) per group of lines, with a
    divider between groups, split into messages within Slack's limits; every
    message after the first starts with ``continued`` (``{page}``)."""
    body: list[dict] = []
    for group in groups:
        if body:
            body.append({"type": "divider"})
        body += [_section(text) for text in _sections(group)]
    messages: list[list[dict]] = [list(head)]
    for block in body:
        current = messages[-1]
        size = sum(text_size(b.get("text", {}).get("text", "")) for b in current if isinstance(b.get("text"), dict))
        block_size = text_size(block.get("text", {}).get("text", "")) if "text" in block else 0
        if len(current) + 1 > MAX_BLOCKS or size + block_size > MESSAGE_BUDGET:
            if block["type"] == "divider":
                continue  # no divider at the top of a continuation
            page = len(messages) + 1
            messages.append([{"type": "context", "elements": [{"type": "mrkdwn", "text": continued.format(page=page)}]}])
            current = messages[-1]
        current.append(block)
    out = [(cut(fallback, TOP_TEXT_BUDGET), messages[0])]
    out += [(continued.format(page=i), blocks) for i, blocks in enumerate(messages[1:], start=2)]
    return out


def notice_messages(
    figures: MonthFigures,
    cat: Catalog,
    tz: ZoneInfo,
    *,
    owners: Collection[str] | None = None,
    show_cs: bool = True,
    to_date: bool = False,
    version: int = 0,
    changes: Sequence[str] = (),
    corrected_link: str = "",
) -> list[Message]:
    """The notice: the first message for the channel, then continuations for
    its thread. ``owners``: only these owners (and no totals); ``show_cs``:
    CS's part; ``to_date``: the month so far (``/reject month``);
    ``version`` > 0 with ``changes``: a correction of the notice at
    ``corrected_link``, saying what changed."""
    month = str(figures.month)
    if version:
        title = cat.t("monthly.title_correction", month=month, version=version)
    elif to_date:
        title = cat.t("monthly.title_to_date", month=month)
    else:
        title = cat.t("monthly.title", month=month)
    as_of = cat.t("monthly.as_of", as_of=figures.as_of.astimezone(tz).strftime("%Y-%m-%d %H:%M"))
    head: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": cut(title, 150)}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": as_of}]},
    ]
    groups: list[list[str]] = []
    if version:
        groups.append([cat.t("monthly.correction_of", month=month, link=corrected_link), *changes])
    shown = [o for o in figures.owners if owners is None or o.owner in owners]
    if owners is None:
        groups.append(totals_lines(figures, cat))
    if not shown and owners is None and not figures.corrections:
        groups.append([cat.t("monthly.nothing")])
    groups += [owner_lines(o, figures, cat) for o in shown]
    if show_cs:
        groups += cs_lines(figures, cat, tz)
    fallback = "\n".join([title, as_of, *(_counts_lines(figures.totals, cat) if owners is None else [])])
    return _pack(head, groups, fallback=fallback, continued=cat.t("monthly.continued", month=month, page="{page}"))


def manager_messages(
    figures: MonthFigures, owners: Collection[str], cat: Catalog, tz: ZoneInfo, *, version: int = 0, changes: Sequence[str] = (), corrected_link: str = "",
) -> list[Message]:
    """A manager's DM: the figures of the owners whose chain they are in (of a correction: with what changed)."""
    messages = notice_messages(figures, cat, tz, owners=owners, show_cs=False, version=version, changes=changes, corrected_link=corrected_link)
    intro = cat.t("monthly.manager_intro", month=str(figures.month))
    text, blocks = messages[0]
    blocks = [blocks[0], blocks[1], _section(intro), *blocks[2:]]  # one more block: still within Slack's 50
    return [(intro + "\n" + text, blocks), *messages[1:]]


def agent_message(figures: MonthFigures, agent: AgentFigures, cat: Catalog, *, version: int = 0) -> Message:
    """A callback agent's DM: their part of the month (of a correction: marked so)."""
    text = "\n".join([
        *([cat.t("monthly.title_correction", month=str(figures.month), version=version)] if version else []),
        cat.t("monthly.agent_intro", month=str(figures.month)),
        cat.t("monthly.agent_dm", posted=agent.posted, disputed=agent.disputed, upheld=agent.upheld, penalty=format_money(agent.penalty, cat)),
    ])
    return text, [_section(text)]


# --- what changed -----------------------------------------------------------------

_FIELDS = (  # Counts field -> catalog key of its name
    ("posted", "monthly.field_posted"), ("confirmed", "monthly.field_confirmed"), ("deemed", "monthly.field_deemed"),
    ("disputed", "monthly.field_disputed"), ("upheld", "monthly.field_upheld"), ("overruled", "monthly.field_overruled"),
    ("open", "monthly.field_open"), ("fixed", "monthly.field_fixed"), ("fixed_in_window", "monthly.field_fixed_in_window"),
    ("answer_median", "monthly.field_answer_median"), ("fix_median", "monthly.field_fix_median"),
    ("escalations", "monthly.field_escalations"), ("reported", "reports.field_reported"),
)
_AGENT_FIELDS = (("posted", "monthly.field_posted"), ("disputed", "monthly.field_disputed"), ("upheld", "monthly.field_upheld"),
                 ("voided", "monthly.field_voided"), ("penalty", "monthly.field_penalty"))


def same_figures(old: MonthFigures, new: MonthFigures) -> bool:
    """The same figures, whatever moment each is as of."""
    return replace(old, as_of=new.as_of) == new


def _value(value: object, cat: Catalog) -> str:
    if isinstance(value, timedelta) or value is None:
        return fmt_duration(value, cat)
    return str(value)


def _counts_changes(old: Counts, new: Counts, cat: Catalog) -> list[tuple[str, str, str]]:
    return [
        (cat.t(key), _value(getattr(old, name), cat), _value(getattr(new, name), cat))
        for name, key in _FIELDS if getattr(old, name) != getattr(new, name)
    ]


def describe_changes(old: MonthFigures, new: MonthFigures, cat: Catalog) -> list[str]:
    """One line per figure that differs: per owner, per agent, the totals and
    CS's corrections. Empty when nothing changed."""
    lines = []
    empty = Counts()
    names = sorted({o.owner for o in old.owners} | {o.owner for o in new.owners})
    for name in names:
        before, after = old.owner(name), new.owner(name)
        for what, a, b in _counts_changes(before.counts if before else empty, after.counts if after else empty, cat):
            lines.append(cat.t("monthly.correction_owner_line", owner=esc(name), what=what, old=a, new=b))
        penalty_before, penalty_after = (before.penalty if before else None), (after.penalty if after else None)
        if penalty_before != penalty_after and new.per_item is not None:
            lines.append(cat.t("monthly.correction_owner_line", owner=esc(name), what=cat.t("monthly.field_penalty"),
                               old=f"¥{penalty_before or 0}", new=f"¥{penalty_after or 0}"))
    old_agents, new_agents = {a.agent: a for a in old.agents}, {a.agent: a for a in new.agents}
    nobody = AgentFigures(agent="", posted=0, disputed=0, upheld=0, penalty=0, voided=0)
    for name in sorted(old_agents.keys() | new_agents.keys()):
        before, after = old_agents.get(name, nobody), new_agents.get(name, nobody)
        for field_name, key in _AGENT_FIELDS:
            if getattr(before, field_name) != getattr(after, field_name):
                lines.append(cat.t("monthly.correction_owner_line", owner=esc(name) or cat.t("monthly.agent_unknown"),
                                   what=cat.t(key), old=getattr(before, field_name), new=getattr(after, field_name)))
    if len(old.corrections) != len(new.corrections):
        lines.append(cat.t("monthly.correction_line", what=cat.t("monthly.field_corrections"), old=len(old.corrections), new=len(new.corrections)))
    if not lines and not same_figures(old, new):  # e.g. a different amount per item, a renamed branch
        lines.append(cat.t("monthly.correction_other"))
    return lines
