"""The import use case: parse, store in one transaction, report; dry runs.

Runs on SQLite, and on PostgreSQL when ``TEST_DATABASE_URL`` is set.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import func, select

from bot.core.importing import ExportError, parse_export
from bot.core.routing import Owner, Routing
from bot.i18n import Catalog
from bot.services.importing import ImportReport, import_export, render_import_report
from storage.models import ImportBatch, Item

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 27, 0, 30, tzinfo=UTC)
SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"
SAMPLE_CSV = SAMPLES / "callbacks-2026-11-26.csv"
SAMPLE_XLSX = SAMPLES / "callbacks-2026-11-26.xlsx"
LARGE_ONLY = Routing(
    channel="C1", cs_lead="U0LEAD", cs_agents={}, owners=(Owner(name="大件配送", user="U1", categories=("large",)),)
)
SMALL_SAMPLE_ORDERS = [r.order_no for r in parse_export(SAMPLE_CSV.read_bytes(), filename="x.csv").records
                       if r.category == "small"]
BAD_ROWS = (
    "SO9000000001,2026-13-45,杭州分公司,大件,,,,,\r\n"
    "SO9000000002,2026-11-26,杭州分公司,中件,,,,,\r\n"
    "SO20261126000000,2026-11-26,上海浦东分公司,大件,,,,,\r\n"  # repeats row 2
).encode()


def run_import(session_factory, data: bytes, *, filename: str = SAMPLE_CSV.name, dry_run: bool = False) -> ImportReport:
    return import_export(
        session_factory=session_factory, now=NOW, timezone=SHANGHAI, routing=LARGE_ONLY, data=data,
        filename=filename, actor="U0CS0001", dry_run=dry_run,
    )


def count(session_factory, table) -> int:
    with session_factory() as session:
        return session.exec(select(func.count()).select_from(table)).one()


def test_import_the_sample(session_factory):
    report = run_import(session_factory, SAMPLE_CSV.read_bytes())

    assert (report.total_rows, report.added, report.skipped_known) == (40, 40, 0)
    assert (report.duplicates, report.problems, report.dry_run) == ([], [], False)
    assert len(SMALL_SAMPLE_ORDERS) > 0
    assert [r.order_no for r in report.unrouted] == SMALL_SAMPLE_ORDERS  # reported ...
    with session_factory() as session:
        items = session.exec(select(Item)).all()
        batch = session.exec(select(ImportBatch)).one()
    assert len(items) == 40  # ... and imported all the same
    assert {i.order_no for i in items} >= set(SMALL_SAMPLE_ORDERS)
    assert {i.status for i in items} == {"new"}
    assert {i.batch_id for i in items} == {batch.id}
    first = next(i for i in items if i.order_no == "SO20261126000000")
    assert (first.rejected_on, first.callback_at) == (date(2026, 11, 26), datetime(2026, 11, 27, 6, 33, tzinfo=UTC))
    assert (batch.filename, batch.actor, batch.added, batch.skipped, batch.rejected) == (
        SAMPLE_CSV.name, "U0CS0001", 40, 0, 0,
    )
    assert len(batch.sha256) == 64


def test_importing_twice_adds_nothing(session_factory):
    run_import(session_factory, SAMPLE_CSV.read_bytes())
    again = run_import(session_factory, SAMPLE_CSV.read_bytes())
    as_xlsx = run_import(session_factory, SAMPLE_XLSX.read_bytes(), filename=SAMPLE_XLSX.name)

    assert (again.added, again.skipped_known) == (0, 40)
    assert (as_xlsx.added, as_xlsx.skipped_known) == (0, 40)
    assert count(session_factory, Item) == 40
    with session_factory() as session:
        assert [b.added for b in session.exec(select(ImportBatch).order_by(ImportBatch.id))] == [40, 0, 0]


def test_bad_and_repeated_rows_are_reported_and_the_rest_imported(session_factory):
    report = run_import(session_factory, SAMPLE_CSV.read_bytes() + BAD_ROWS)

    assert (report.total_rows, report.added) == (43, 40)
    assert [(p.row, p.key) for p in report.problems] == [(42, "import.bad_date"), (43, "import.unknown_category")]
    assert report.duplicates == [(44, 2)]
    assert count(session_factory, Item) == 40
    with session_factory() as session:
        batch = session.exec(select(ImportBatch)).one()
    assert (batch.added, batch.skipped, batch.rejected) == (40, 1, 2)


def test_dry_run_writes_nothing_and_reports_the_same_counts(session_factory):
    data = SAMPLE_CSV.read_bytes() + BAD_ROWS
    dry = run_import(session_factory, data, dry_run=True)
    assert count(session_factory, Item) == 0
    assert count(session_factory, ImportBatch) == 0

    real = run_import(session_factory, data)
    dry_again = run_import(session_factory, data, dry_run=True)

    assert dry.dry_run and not real.dry_run
    for field in ("total_rows", "added", "skipped_known", "duplicates", "problems", "unrouted", "header_row"):
        assert getattr(dry, field) == getattr(real, field), field
    assert (dry_again.added, dry_again.skipped_known) == (0, 40)
    assert count(session_factory, ImportBatch) == 1


def test_a_partly_known_file(session_factory):
    lines = SAMPLE_CSV.read_bytes().splitlines(keepends=True)
    run_import(session_factory, b"".join(lines[:11]))  # header + the first 10 records

    dry = run_import(session_factory, SAMPLE_CSV.read_bytes(), dry_run=True)
    real = run_import(session_factory, SAMPLE_CSV.read_bytes())
    assert (dry.added, dry.skipped_known) == (real.added, real.skipped_known) == (30, 10)


def test_an_unusable_file_raises_and_writes_nothing(session_factory):
    with pytest.raises(ExportError) as caught:
        run_import(session_factory, "订单号,分公司\r\nSO1,杭州\r\n".encode(), filename="bad.csv")
    assert caught.value.key == "import.missing_columns"
    assert count(session_factory, ImportBatch) == 0


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_render_the_report(session_factory, locale):
    catalog = Catalog(locale)
    text = render_import_report(run_import(session_factory, SAMPLE_CSV.read_bytes() + BAD_ROWS), catalog)

    assert text.splitlines()[0] == catalog.t("import.report_title", filename=SAMPLE_CSV.name, total=43, header_row=1)
    assert catalog.t("import.added", count=40) in text
    assert catalog.t("import.skipped_known", count=0) in text
    assert catalog.t("import.duplicate_row", row=44, first=2) in text
    assert catalog.t("import.rejected", count=2) in text
    bad_date = catalog.t("import.bad_date", column="拒收日期", value="2026-13-45")
    assert catalog.t("import.rejected_row", row=42, reasons=bad_date) in text
    assert catalog.t("import.unrouted", count=len(SMALL_SAMPLE_ORDERS)) in text
    for order_no in SMALL_SAMPLE_ORDERS:
        assert order_no in text
    assert catalog.t("import.dry_run") not in text


@pytest.mark.parametrize("locale", ["en", "zh_CN"])
def test_render_a_dry_run(session_factory, locale):
    catalog = Catalog(locale)
    text = render_import_report(run_import(session_factory, SAMPLE_CSV.read_bytes(), dry_run=True), catalog)

    lines = text.splitlines()
    assert catalog.t("import.dry_run") in lines
    assert catalog.t("import.would_add", count=40) in lines
    assert catalog.t("import.added", count=40) not in lines


def test_several_reasons_for_one_row_share_its_line(session_factory):
    data = "订单号,拒收日期,分公司,配送类型\r\nSO1,someday,杭州分公司,中件\r\n".encode()
    catalog = Catalog("en")
    text = render_import_report(run_import(session_factory, data, filename="c.csv"), catalog)

    reasons = "; ".join([
        catalog.t("import.bad_date", column="拒收日期", value="someday"),
        catalog.t("import.unknown_category", column="配送类型", value="中件"),
    ])
    assert catalog.t("import.rejected_row", row=2, reasons=reasons) in text.splitlines()
