"""What to materialize next, and why: pure decisions shared by `fastcart run` and the sensors.

No Dagster run machinery here: `progress.py` reads the instance into these inputs, and both the
catch-up (`pipeline.py`) and the Gold sensor (`sensors.py`) act on the plans (docs/SPEC.md §7
"Late data").

- Silver: every Bronze partition materialized since Silver last processed it.
- Gold sales tables: every date a Silver materialization touched, once Gold has not yet covered
  that materialization; customer snapshots from the earliest such date through today.
- A Silver partition whose data-quality checks report ERROR (`dq_errors`), or whose run failed,
  blocks the dates it touched: they wait, and are planned together with the dates of the next
  clean materialization of the same partition.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from fastcart_assets.tables import CUSTOMER_ANALYTICS

# Touched dates at most this many days apart are recomputed in one run (the dates between too).
MAX_GAP_DAYS = 2


@dataclass(frozen=True)
class SilverRecord:
    """One Silver materialization of one partition, as the instance recorded it."""

    storage_id: int
    partition: date
    touched: tuple[date, ...] = ()
    dq_errors: tuple[str, ...] = ()
    run_succeeded: bool | None = True  # None: the run is still going

    @property
    def clean(self) -> bool:
        """The run succeeded and no data-quality check of the partition is at ERROR."""
        return bool(self.run_succeeded) and not self.dq_errors


def silver_partitions_to_process(
    bronze: Mapping[date, int], silver: Mapping[date, int]
) -> list[date]:
    """Bronze partitions whose latest materialization (a storage id) is newer than Silver's."""
    return sorted(day for day, stored in bronze.items() if stored > silver.get(day, -1))


@dataclass(frozen=True)
class Blocked:
    """A Silver partition whose touched dates wait for a clean materialization."""

    partition: date
    storage_id: int
    reason: str


@dataclass(frozen=True)
class Touched:
    """What Silver changed since Gold last caught up: the dates to recompute and why."""

    dates: tuple[date, ...]  # touched dates that have partitions
    through: int | None  # highest Silver storage id accounted for (None: nothing new)
    blocked: tuple[Blocked, ...] = ()


@dataclass(frozen=True)
class GoldPlan:
    """The runs one Gold group needs: contiguous partition ranges, and the progress they cover."""

    group: str
    ranges: tuple[tuple[date, date], ...]
    through: int | None
    blocked: tuple[Blocked, ...] = ()

    @property
    def dates(self) -> list[date]:
        return [d for first, last in self.ranges for d in _days(first, last)]


def _days(first: date, last: date) -> list[date]:
    return [date.fromordinal(n) for n in range(first.toordinal(), last.toordinal() + 1)]


def usable_dates(days: Iterable[date], first_date: date, today: date) -> list[date]:
    """The dates that have a daily partition: from `first_date` through `today`."""
    return sorted({d for d in days if first_date <= d <= today})


def contiguous_ranges(days: Iterable[date], max_gap: int = MAX_GAP_DAYS) -> list[tuple[date, date]]:
    """`days` as ranges of consecutive dates; gaps of up to `max_gap` missing days are bridged
    (recomputing a few untouched dates costs less than another run)."""
    ranges: list[list[date]] = []
    for day in sorted(set(days)):
        if ranges and (day - ranges[-1][1]).days <= max_gap + 1:
            ranges[-1][1] = day
        else:
            ranges.append([day, day])
    return [(first, last) for first, last in ranges]


def snapshot_range(touched: Sequence[date], today: date) -> tuple[date, date] | None:
    """Customer snapshots to recompute: from the earliest touched date through today (a
    snapshot covers every completed order up to its date, so every later one moves too)."""
    if not touched:
        return None
    return (min(min(touched), today), today)


def gold_plan(group: str, touched: Touched, today: date) -> GoldPlan:
    """The runs of `group`: sales tables per touched range, customer snapshots through today."""
    if group == CUSTOMER_ANALYTICS:
        span = snapshot_range(touched.dates, today)
        ranges = (span,) if span else ()
    else:
        ranges = tuple(contiguous_ranges(touched.dates))
    return GoldPlan(group, ranges, touched.through, touched.blocked)


@dataclass(frozen=True)
class GoldRun:
    """One Gold run: the groups it computes over one partition range, and for each group which
    part of its plan it is (`part` of `parts`) and the Silver progress that plan covers."""

    groups: tuple[str, ...]
    first: date
    last: date
    plan_parts: tuple[tuple[str, int, int, int], ...]  # (group, through, part, parts)


def gold_runs(plans: Sequence[GoldPlan]) -> list[GoldRun]:
    """The runs that carry out `plans`: one per range; or one for all groups over the span of
    their ranges when every plan is a single range and that span adds at most MAX_GAP_DAYS dates
    to each (fresh data: sales recompute yesterday and today, snapshots the same dates or one
    more; recomputing an untouched date costs less than another run)."""
    active = [plan for plan in plans if plan.ranges and plan.through is not None]
    if len(active) > 1 and all(len(plan.ranges) == 1 for plan in active):
        first = min(plan.ranges[0][0] for plan in active)
        last = max(plan.ranges[0][1] for plan in active)
        span = (last - first).days + 1
        if all(span - len(plan.dates) <= MAX_GAP_DAYS for plan in active):
            parts = tuple((plan.group, plan.through, 1, 1) for plan in active)
            return [GoldRun(tuple(plan.group for plan in active), first, last, parts)]
    return [
        GoldRun((plan.group,), first, last, ((plan.group, plan.through, n + 1, len(plan.ranges)),))
        for plan in active
        for n, (first, last) in enumerate(plan.ranges)
    ]


def touched_since(
    records: Sequence[SilverRecord],
    earlier_blocked: Mapping[date, Sequence[SilverRecord]],
    first_date: date,
    today: date,
) -> Touched:
    """The dates Silver touched in `records` (oldest first, all after Gold's progress).

    Args:
        records: Silver materializations Gold has not covered, in storage order.
        earlier_blocked: per partition, its blocked materializations before `records` since its
            last clean one: a clean record releases their dates.
        first_date: the first daily partition (FASTCART_FIRST_DATE).
        today: the UTC date the run or tick started.

    Returns:
        The touched dates that have partitions, the storage id covered (the plan stops before
        the first record whose run is still going), and the records blocking their dates.
    """
    touched: set[date] = set()
    blocked: list[Blocked] = []
    waiting = {p: list(r) for p, r in earlier_blocked.items()}
    through = None
    for record in records:
        if record.run_succeeded is None:
            break  # its checks may still fail: decide next time
        through = record.storage_id
        if record.clean:
            for held in waiting.pop(record.partition, []):
                touched.update(held.touched)
            touched.update(record.touched)
        else:
            waiting.setdefault(record.partition, []).append(record)
            reason = (
                f"data-quality ERROR: {', '.join(record.dq_errors)}"
                if record.dq_errors
                else "its run failed"
            )
            blocked.append(Blocked(record.partition, record.storage_id, reason))
    return Touched(tuple(usable_dates(touched, first_date, today)), through, tuple(blocked))
