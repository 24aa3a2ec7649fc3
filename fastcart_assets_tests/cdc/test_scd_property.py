"""Property: whatever the delivery (partitions, order, batches, duplicates) and the processing
(order of partitions, grouping, re-runs), the SCD 1 and SCD 2 tables equal a plain-Python fold
of the changes in lsn order, and re-running a processed partition commits nothing."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from fastcart_assets_tests.cdc.changes import (
    TS0,
    Delivered,
    encode,
    envelope,
    fold,
    key,
    order_row,
)
from fastcart_assets_tests.cdc.conftest import DAYS, CdcLake

STATUSES = ("pending", "confirmed", "processing", "shipped", "cancelled")
PARTITIONS = 3
# Spark examples are costly to shrink: report the first failing one as it is.
SPARK = settings(
    max_examples=6,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def _key_only(order_id: str) -> dict:
    """A delete's `before` under REPLICA IDENTITY DEFAULT: the primary key, other columns null."""
    return {name: None for name in order_row(order_id)} | {"order_id": order_id}


@st.composite
def produced(draw) -> list[Delivered]:
    """Changes of a few keys in lsn order, as the connector produced them (partition and offset
    not yet known): any op in any order, deletes mostly followed by a tombstone, now and then a
    second record for the same lsn with other content, and a few values that are not changes."""
    keys = draw(st.integers(1, 5))
    counts = [draw(st.integers(1, 7)) for _ in range(keys)]
    lsns = draw(
        st.lists(st.integers(1, 3_000), min_size=sum(counts), max_size=sum(counts), unique=True)
    )
    records, position = [], 0
    for k, count in enumerate(counts):
        order_id = f"ORD-{10_000_000 + k}"
        state = None
        for lsn in sorted(lsns[position : position + count]):
            ts_ms = TS0 + (lsn // 3) * 1_000  # non-decreasing in lsn, sometimes equal
            op = draw(st.sampled_from("cudr"))
            if op == "d":
                image = state if state is not None and draw(st.booleans()) else _key_only(order_id)
                state = None
            else:
                image = order_row(
                    order_id,
                    draw(st.sampled_from(STATUSES)),
                    ts_ms,
                    quantity=draw(st.integers(1, 5)),
                )
                state = image
            change = envelope(op, image, lsn, ts_ms)
            records.append(Delivered(0, 0, key(order_id), encode(change), change))
            if op == "d" and draw(st.integers(0, 4)) > 0:
                records.append(Delivered(0, 0, key(order_id), None))  # tombstone
            if draw(st.integers(0, 9)) == 0:  # same lsn, other content
                other = envelope(op, {**image, "status": "other"}, lsn, ts_ms)
                records.append(Delivered(0, 0, key(order_id), encode(other), other))
        position += count
    for bad in draw(st.lists(st.sampled_from([b"{not json", b"[]", b'{"op": "c"}']), max_size=2)):
        records.append(Delivered(0, 0, key("ORD-10000000"), bad))
    return records


@st.composite
def deliveries(draw) -> tuple[list[list[Delivered]], list[list[int]]]:
    """Records shuffled across partitions, duplicated, split into Bronze days; and a plan: the
    groups of days processed together, in processing order (a day may come twice)."""
    records = draw(produced())
    copies = draw(st.lists(st.integers(0, len(records) - 1), max_size=5))
    records = records + [records[i] for i in copies]
    order = draw(st.permutations(range(len(records))))
    offsets = [0] * PARTITIONS
    delivered = []
    for i in order:
        partition = draw(st.integers(0, PARTITIONS - 1))
        record = records[i]
        delivered.append(
            Delivered(partition, offsets[partition], record.key, record.value, record.change)
        )
        offsets[partition] += 1
    days = draw(st.integers(1, len(DAYS)))
    cuts = sorted(
        draw(st.lists(st.integers(0, len(delivered)), min_size=days - 1, max_size=days - 1))
    )
    bounds = [0, *cuts, len(delivered)]
    batches = [delivered[bounds[d] : bounds[d + 1]] for d in range(days)]
    sequence = draw(st.permutations(range(days)))
    groups, start = [], 0
    while start < days:
        size = draw(st.integers(1, days - start))
        groups.append(sorted(sequence[start : start + size]))
        start += size
    if draw(st.booleans()):
        groups.insert(draw(st.integers(0, len(groups))), [draw(st.integers(0, days - 1))])
    return batches, groups


@pytest.mark.slow
@SPARK
@given(deliveries())
def test_tables_equal_the_fold_whatever_the_delivery_and_processing_order(spark, tmp_path, case):
    batches, groups = case
    lake = CdcLake(spark, str(tmp_path / uuid.uuid4().hex))
    for day, batch in zip(DAYS, batches, strict=False):
        lake.add_bronze(batch, day)
    for group in groups:
        result = lake.process(*[DAYS[d] for d in group])
        assert result.rows_in == sum(len(batches[d]) for d in group)
        assert result.accounted == result.rows_in  # every envelope has one outcome
    everything = [record for batch in batches for record in batch]
    history, current = fold(everything)
    assert lake.history_rows() == history
    assert lake.current_rows() == current

    before = lake.versions()
    again = lake.process(*DAYS[: len(batches)])  # every partition again: nothing to commit
    assert (again.applied, again.stale, again.duplicates) == (
        0,
        0,
        again.rows_in - again.tombstones - again.rejected,
    )
    assert lake.versions() == before
