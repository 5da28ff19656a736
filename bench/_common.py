"""What the benchmarks share: the machine line, result rows, realistic data.

Every benchmark measures our code and a baseline in the same run and prints
both, their ratio, and the target with PASS/FAIL. Nothing here touches the
network beyond 127.0.0.1.
"""

from __future__ import annotations

import os
import platform
import random
import statistics
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.core.importing import Record
from bot.core.routing import Owner, Routing

SHANGHAI = ZoneInfo("Asia/Shanghai")
SIGNING_SECRET = "bench-signing-secret"
CHANNEL = "C0LOGISTICS"
# 2026-11-27 is a Friday and a working day in China; the digest is due at 08:30.
DIGEST_NOW = datetime(2026, 11, 27, 8, 30, tzinfo=SHANGHAI)
SEED = 20261127


def machine() -> str:
    """Platform, CPU count, Python, and the load average: wall times mean
    little when other processes compete for the CPUs."""
    load = "/".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return (
        f"machine: {platform.platform()} ({platform.machine()}), {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()} ({platform.python_implementation()}); "
        f"load average {load} (1/5/15 min) at start"
    )


@dataclass(frozen=True)
class Row:
    """One measured figure next to its same-run baseline."""

    bench: str
    metric: str
    value: str
    baseline: str
    ratio: float | None
    target: str
    passed: bool | None  # None: informational, no target

    @property
    def verdict(self) -> str:
        return "" if self.passed is None else ("PASS" if self.passed else "FAIL")


def print_rows(rows: list[Row], *, title: str | None = None) -> None:
    """Rows as an aligned table."""
    header = ("bench", "metric", "ours", "baseline", "ratio", "target", "")
    table = [header] + [
        (r.bench, r.metric, r.value, r.baseline, "—" if r.ratio is None else f"{r.ratio:.2f}×", r.target, r.verdict)
        for r in rows
    ]
    widths = [max(_width(line[i]) for line in table) for i in range(len(header))]
    if title:
        print(title)
    for n, line in enumerate(table):
        print("  ".join(_pad(cell, w) for cell, w in zip(line, widths, strict=True)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))
    sys.stdout.flush()


def _width(text: str) -> int:
    """Display width: CJK characters take two columns."""
    return sum(2 if "\u2e80" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def percentile(values: list[float], p: float) -> float:
    """The ``p``-th percentile (0-100), nearest-rank on sorted values."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def median(values: list[float]) -> float:
    return statistics.median(values)


# --- realistic data ---------------------------------------------------------------

CITIES = (
    "上海浦东", "上海浦西", "杭州", "南京", "苏州", "无锡", "宁波", "合肥", "北京朝阳", "北京海淀",
    "天津", "济南", "青岛", "广州", "深圳", "东莞", "佛山", "厦门", "福州", "武汉",
    "长沙", "南昌", "成都", "重庆", "西安", "郑州", "石家庄", "太原", "沈阳", "大连",
    "长春", "哈尔滨", "昆明", "贵阳", "南宁", "海口", "兰州", "银川", "西宁", "乌鲁木齐",
    "呼和浩特", "拉萨", "常州", "南通", "徐州", "温州", "绍兴", "嘉兴", "台州", "金华",
    "泉州", "漳州", "珠海", "中山", "惠州", "烟台", "潍坊", "洛阳", "宜昌", "襄阳",
)  # fmt: skip
BRANCHES = tuple(f"{city}分公司" for city in CITIES)  # 60 branches
AGENTS = ("张敏", "陈静", "王丽", "刘洋", "杨帆", "李娜")
SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许何吕施张孔曹严华金魏陶姜"
NOTES = (
    "客户约定次日下午送货，配送员直接拒收",
    "客户确认已收到商品并正常使用",
    "客户表示货物已于当天签收，无退货意愿",
    "客户称配送员已送达，系统却显示拒收",
    "客户当天不在家，要求改为周末配送",
    "客户要求改期送货，并未拒收",
)
EXTRAS = ("", "", "；已电话再次确认", "；客户情绪平稳", "；请物流核实签收记录", "；客户希望尽快处理")
CSV_HEADER = ("订单号", "拒收日期", "分公司", "配送类型", "场景", "客户", "回访人", "回访时间", "回访记录")
REJECTION_DAYS = tuple(date(2026, 11, 26) - timedelta(days=d) for d in range(3))


def generate_rows(n: int, *, seed: int = SEED, owners: int = 1) -> list[tuple[str, ...]]:
    """``n`` rows shaped like the callback export (as the CSV file holds them):
    unique order numbers, Chinese text, branches spread evenly. With
    ``owners``, row ``i`` goes to owner ``i % owners`` of ``owners_routing``
    (each owning ``len(BRANCHES) // owners`` branches), so owners get equal shares."""
    rng = random.Random(seed)
    per_owner = len(BRANCHES) // owners
    rows = []
    for i in range(n):
        branch = BRANCHES[(i % owners) * per_owner + (i // owners) % per_owner]
        day = REJECTION_DAYS[i % len(REJECTION_DAYS)]
        called = datetime.combine(day + timedelta(days=1), datetime.min.time()) + timedelta(
            hours=rng.randint(9, 17), minutes=rng.randint(0, 59)
        )
        rows.append(
            (
                f"SO{day:%Y%m%d}{i:07d}",
                day.isoformat(),
                branch,
                "大件" if rng.random() < 0.6 else "小件",
                "客户已收货" if rng.random() < 0.55 else "客户要求改期",
                f"{rng.choice(SURNAMES)}{rng.choice(('先生', '女士'))} 1{rng.randint(3, 9)}{rng.randrange(10**9):09d}",
                rng.choice(AGENTS),
                called.strftime("%Y-%m-%d %H:%M"),
                rng.choice(NOTES) + rng.choice(EXTRAS),
            )
        )
    return rows


def rows_to_csv(rows: list[tuple[str, ...]]) -> bytes:
    """The export file: UTF-8 with a BOM (as Excel writes it), CRLF lines."""
    import csv
    import io

    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def rows_to_records(rows: list[tuple[str, ...]]) -> list[Record]:
    """The same rows as parsed records (for seeding a database quickly)."""
    categories = {"大件": "large", "小件": "small"}
    scenarios = {"客户已收货": "received", "客户要求改期": "reschedule"}
    return [
        Record(
            row=n + 2, order_no=r[0], rejected_on=date.fromisoformat(r[1]), branch=r[2],
            category=categories[r[3]], scenario=scenarios[r[4]], customer=r[5], callback_agent=r[6],
            callback_at=datetime.fromisoformat(r[7]), note=r[8],
        )
        for n, r in enumerate(rows)
    ]  # fmt: skip


def owners_routing(n_owners: int, *, branches_per_owner: int) -> Routing:
    """``n_owners`` owners, each answering for both delivery types of its own
    ``branches_per_owner`` branches (taken in order from ``BRANCHES``)."""
    owners = tuple(
        Owner(
            name=f"物流{i + 1:02d}组",
            user=f"U0OWN{i + 1:04d}",
            categories=("large", "small"),
            branches=BRANCHES[i * branches_per_owner : (i + 1) * branches_per_owner],
            escalation=("U0OPSHEAD",),
        )
        for i in range(n_owners)
    )
    return Routing(channel=CHANNEL, cs_lead="U0CSLEAD", cs_agents={a: f"U0CS{i:04d}" for i, a in enumerate(AGENTS)}, owners=owners)


def chunks(seq: list, size: int) -> Iterator[list]:
    for start in range(0, len(seq), size):
        yield seq[start : start + size]
