"""The planner's decisions, as pure functions: what Silver and Gold must process next, and why."""

from __future__ import annotations

from datetime import date, timedelta

from fastcart_assets import planner
from fastcart_assets.planner import SilverRecord
from fastcart_assets.tables import CUSTOMER_ANALYTICS, SALES_PERFORMANCE

FIRST = date(2025, 1, 1)
TODAY = date(2025, 3, 10)


def d(day: int) -> date:
    return date(2025, 3, day)


def record(storage_id, partition, touched=(), errors=(), ok=True) -> SilverRecord:
    return SilverRecord(storage_id, partition, tuple(touched), tuple(errors), ok)


def test_silver_processes_bronze_partitions_newer_than_its_own():
    bronze = {d(1): 10, d(2): 40, d(3): 50}
    silver = {d(1): 20, d(2): 30}
    assert planner.silver_partitions_to_process(bronze, silver) == [d(2), d(3)]
    assert planner.silver_partitions_to_process({}, silver) == []


def test_touched_dates_are_collected_in_storage_order_and_bounded_by_the_partitions():
    records = [
        record(5, d(9), [d(9), d(8)]),
        record(6, d(10), [d(10), date(2024, 12, 31), d(11)]),  # before FIRST, after TODAY
    ]
    touched = planner.touched_since(records, {}, FIRST, TODAY)
    assert touched.dates == (d(8), d(9), d(10))
    assert touched.through == 6
    assert touched.blocked == ()


def test_a_record_whose_run_is_still_going_ends_the_plan_before_it():
    records = [record(5, d(9), [d(9)]), record(6, d(10), [d(10)], ok=None), record(7, d(10))]
    touched = planner.touched_since(records, {}, FIRST, TODAY)
    assert touched.dates == (d(9),) and touched.through == 5
    nothing = planner.touched_since([record(6, d(10), [d(10)], ok=None)], {}, FIRST, TODAY)
    assert nothing.dates == () and nothing.through is None


def test_an_error_partition_holds_its_dates_until_a_clean_materialization_releases_them():
    records = [
        record(5, d(9), [d(9), d(2)], errors=["malformed_json"]),
        record(6, d(10), [d(10)]),
        record(7, d(8), [d(8)], ok=False),  # a failed run blocks too
    ]
    touched = planner.touched_since(records, {}, FIRST, TODAY)
    assert touched.dates == (d(10),)  # the other partition proceeds
    assert touched.through == 7
    assert [(b.partition, b.reason) for b in touched.blocked] == [
        (d(9), "data-quality ERROR: malformed_json"),
        (d(8), "its run failed"),
    ]
    # Later the partition is reprocessed cleanly (threshold raised, data fixed): its held dates
    # come back with the new ones, whether the held record was in this batch or before it.
    cleared = planner.touched_since(
        [record(8, d(9), [d(3)])], {d(9): [record(5, d(9), [d(9), d(2)], ["x"])]}, FIRST, TODAY
    )
    assert cleared.dates == (d(2), d(3), d(9))
    assert cleared.blocked == ()


def test_sales_ranges_bridge_small_gaps_and_split_large_ones():
    days = [d(1), d(2), d(5), d(9)]
    assert planner.contiguous_ranges(days) == [(d(1), d(5)), (d(9), d(9))]
    assert planner.contiguous_ranges(days, max_gap=0) == [(d(1), d(2)), (d(5), d(5)), (d(9), d(9))]
    assert planner.contiguous_ranges([]) == []


def test_customer_snapshots_run_from_the_earliest_touched_date_through_today():
    touched = planner.Touched((d(2), d(7)), through=9)
    sales = planner.gold_plan(SALES_PERFORMANCE, touched, TODAY)
    customers = planner.gold_plan(CUSTOMER_ANALYTICS, touched, TODAY)
    assert sales.ranges == ((d(2), d(2)), (d(7), d(7)))
    assert customers.ranges == ((d(2), TODAY),)
    assert customers.dates == [d(2) + timedelta(days=n) for n in range(9)]
    assert sales.through == customers.through == 9
    empty = planner.gold_plan(CUSTOMER_ANALYTICS, planner.Touched((), through=9), TODAY)
    assert empty.ranges == () and empty.through == 9


def test_gold_groups_share_a_run_when_their_dates_differ_by_at_most_the_gap():
    today_only = planner.Touched((TODAY,), through=12)
    plans = [
        planner.gold_plan(SALES_PERFORMANCE, today_only, TODAY),
        planner.gold_plan(CUSTOMER_ANALYTICS, today_only, TODAY),
    ]
    [run] = planner.gold_runs(plans)
    assert run.groups == (SALES_PERFORMANCE, CUSTOMER_ANALYTICS)
    assert (run.first, run.last) == (TODAY, TODAY)
    assert run.plan_parts == ((SALES_PERFORMANCE, 12, 1, 1), (CUSTOMER_ANALYTICS, 12, 1, 1))
    yesterday = planner.Touched((d(8), d(9)), through=14)
    plans = [
        planner.gold_plan(g, yesterday, TODAY) for g in (SALES_PERFORMANCE, CUSTOMER_ANALYTICS)
    ]
    [run] = planner.gold_runs(plans)  # sales d8-d9 and snapshots d8-d10: one run over d8-d10
    assert (run.groups, run.first, run.last) == (
        (SALES_PERFORMANCE, CUSTOMER_ANALYTICS),
        d(8),
        TODAY,
    )
    older = planner.Touched((d(6), d(7)), through=15)  # snapshots would add 3 dates to sales
    plans = [planner.gold_plan(g, older, TODAY) for g in (SALES_PERFORMANCE, CUSTOMER_ANALYTICS)]
    assert [(r.groups, r.first, r.last) for r in planner.gold_runs(plans)] == [
        ((SALES_PERFORMANCE,), d(6), d(7)),
        ((CUSTOMER_ANALYTICS,), d(6), TODAY),
    ]
    late = planner.Touched((d(2), d(9)), through=13)
    plans = [planner.gold_plan(g, late, TODAY) for g in (SALES_PERFORMANCE, CUSTOMER_ANALYTICS)]
    runs = planner.gold_runs(plans)
    assert [(r.groups, r.first, r.last) for r in runs] == [
        ((SALES_PERFORMANCE,), d(2), d(2)),
        ((SALES_PERFORMANCE,), d(9), d(9)),
        ((CUSTOMER_ANALYTICS,), d(2), TODAY),
    ]
    assert [r.plan_parts[0][2:] for r in runs] == [(1, 2), (2, 2), (1, 1)]
    assert (
        planner.gold_runs([planner.gold_plan(SALES_PERFORMANCE, planner.Touched((), 5), TODAY)])
        == []
    )
