"""Pure change-data-capture transforms (SPEC.md §10): envelopes -> versions -> current rows.

    classified = classify(bronze)            # + is_tombstone, rejection_reasons (cdc.rules)
    changes = ranked_changes(classified)     # usable changes, typed, ranked per (order_id, lsn)
    outcomes(changes, existing)              # applied / stale / duplicate, before writing
    winners = newest_per_version(candidates(changes, existing))
    versions(winners)                        # SCD 2 rows: valid_to, is_current per key
    history_actions(...), current_actions(...)   # what the MERGEs change

A version is identified by (order_id, lsn); of several records for one version the one with the
higher Kafka offset wins (then partition, then topic, so the order is total). Versions of a key
are ordered by lsn: each ends where the next begins; a delete is a version with an empty
interval, so the row is absent until a later create. History is recomputed for the keys a batch
touches from the versions already stored plus the batch, so any order of batches, splits and
duplicates gives the same tables. No Dagster, no tables: `cdc.writes` applies these to Delta.
"""

from __future__ import annotations

from functools import reduce

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from fastcart_assets.cdc.rules import (
    IMAGE,
    IS_OBJECT,
    PARSED_TIMES,
    RAW_LEAVES,
    failed_rules,
    image,
)
from fastcart_assets.cdc.schemas import (
    DELETE,
    ENVELOPE,
    ORDER_ROW_FIELDS,
    ORDERS_CURRENT_SCHEMA,
    ORDERS_HISTORY_SCHEMA,
)
from fastcart_assets.erasures import ERASED
from fastcart_assets.silver.transforms import parse_timestamp

VERSION_KEY = ("order_id", "lsn")
# The record that wins a version: the higher Kafka offset, then partition, then topic.
WINNER_ORDER = ("kafka_offset", "kafka_partition", "kafka_topic")
# What a version says about the order; the other history columns say where it came from.
CONTENT_COLUMNS = tuple(ORDERS_CURRENT_SCHEMA.fieldNames())
HISTORY_COLUMNS = tuple(ORDERS_HISTORY_SCHEMA.fieldNames())
JSON_OBJECT_START = r"^[ \t\r\n]*\{"

APPLIED, STALE, DUPLICATE = "applied", "stale", "duplicate"
INSERT, UPDATE, DELETE_ROW = "insert", "update", "delete"


def _string_leaves(schema: StructType) -> str:
    """`schema` as a DDL string with every scalar leaf a STRING (to read `_raw` as text)."""
    parts = []
    for field in schema.fields:
        inner = field.dataType
        kind = f"struct<{_string_leaves(inner)}>" if isinstance(inner, StructType) else "string"
        parts.append(f"`{field.name}` {kind}")
    return ", ".join(parts)


RAW_LEAVES_DDL = _string_leaves(ENVELOPE)


def rule_inputs(bronze: DataFrame) -> DataFrame:
    """Bronze CDC rows with the helper columns the rules read: IS_OBJECT, IMAGE, RAW_LEAVES and
    PARSED_TIMES (a value wrapped with its schema is typed by Bronze but has no RAW_LEAVES, so
    only its typed columns are checked), and ERASED (FALSE when `bronze` does not flag it)."""
    starts_like_object = F.coalesce(F.col("_raw").rlike(JSON_OBJECT_START), F.lit(False))
    fields_set = reduce(
        lambda a, b: a | b, [F.col(f.name).isNotNull() for f in ENVELOPE.fields], F.lit(False)
    )
    parses = F.from_json(F.col("_raw"), "map<string,string>").isNotNull()
    if ERASED not in bronze.columns:
        bronze = bronze.withColumn(ERASED, F.lit(False))
    with_image = bronze.withColumns(
        {
            IS_OBJECT: starts_like_object & F.when(fields_set, F.lit(True)).otherwise(parses),
            IMAGE: image(),
            RAW_LEAVES: F.from_json(F.col("_raw"), RAW_LEAVES_DDL),
        }
    )
    return with_image.withColumns(
        {parsed: parse_timestamp(F.col(f"{IMAGE}.{name}")) for name, parsed in PARSED_TIMES.items()}
    )


def classify(bronze: DataFrame) -> DataFrame:
    """Bronze CDC rows plus `is_tombstone` (null value) and `rejection_reasons` (empty for a
    usable change and for a tombstone), with IMAGE and PARSED_TIMES kept for `ranked_changes`."""
    inputs = rule_inputs(bronze)
    tombstone = F.col("_raw").isNull() & ~F.col(ERASED)
    reasons = F.when(tombstone, F.array().cast("array<string>")).otherwise(failed_rules())
    return inputs.withColumns({"is_tombstone": tombstone, "rejection_reasons": reasons}).drop(
        RAW_LEAVES
    )


def usable_changes(classified: DataFrame) -> DataFrame:
    """The usable changes (not tombstones, not rejected) as history rows without `valid_to` and
    `is_current`."""
    typed = {name: F.col(f"{IMAGE}.{name}") for name in ORDER_ROW_FIELDS}
    typed.update({name: F.col(parsed) for name, parsed in PARSED_TIMES.items()})
    typed.update(
        {
            "lsn": F.col("source.lsn"),
            "tx_id": F.col("source.txId"),
            "valid_from": F.timestamp_millis(F.col("source.ts_ms")),
        }
    )
    columns = [
        typed.get(f.name, F.col(f.name)).cast(f.dataType).alias(f.name)
        for f in ORDERS_HISTORY_SCHEMA.fields
        if f.name not in ("valid_to", "is_current")
    ]
    usable = classified.where(~F.col("is_tombstone") & (F.size("rejection_reasons") == 0))
    return usable.select(*columns)


def ranked_changes(classified: DataFrame) -> DataFrame:
    """`usable_changes` plus `_rank`: 1 for the record that wins its version in the frame."""
    window = Window.partitionBy(*VERSION_KEY).orderBy(*[F.col(c).desc() for c in WINNER_ORDER])
    return usable_changes(classified).withColumn("_rank", F.row_number().over(window))


def _wins(source: str, target: str) -> Column:
    """The record aliased `source` wins over `target` for the same version (WINNER_ORDER)."""
    condition = F.lit(False)
    for column in reversed(WINNER_ORDER):
        s, t = F.col(f"{source}.{column}"), F.col(f"{target}.{column}")
        condition = (s > t) | ((s == t) & condition)
    return condition


def _same(source: str, target: str, columns: tuple[str, ...]) -> Column:
    """`source` and `target` agree (null-safe) on every one of `columns`."""
    checks = [F.col(f"{source}.{c}").eqNullSafe(F.col(f"{target}.{c}")) for c in columns]
    return reduce(lambda a, b: a & b, checks)


def outcomes(changes: DataFrame, existing: DataFrame) -> DataFrame:
    """Each usable change of a batch with `outcome`, decided against `existing` (the stored
    versions of the batch's keys, before the batch is written).

    `duplicate`: the tables already hold its version (a redelivery, a re-run) or another record
    of the batch wins it. `applied`: a new version at least as new as any stored for its key.
    `stale`: a new version older than one stored for its key: it goes into history in its place
    and leaves the current row alone.
    """
    newest = existing.groupBy("order_id").agg(F.max("lsn").alias("_newest_lsn"))
    stored = existing.select(*VERSION_KEY, *WINNER_ORDER, *CONTENT_COLUMNS)
    joined = (
        changes.alias("s")
        .join(stored.alias("e"), [F.col(f"s.{c}") == F.col(f"e.{c}") for c in VERSION_KEY], "left")
        .join(newest.alias("n"), F.col("s.order_id") == F.col("n.order_id"), "left")
    )
    stored_version = F.col("e.order_id").isNotNull()
    new_content = ~stored_version | (_wins("s", "e") & ~_same("s", "e", CONTENT_COLUMNS))
    outcome = (
        F.when((F.col("s._rank") > 1) | ~new_content, F.lit(DUPLICATE))
        .when(
            F.col("n._newest_lsn").isNull() | (F.col("s.lsn") >= F.col("n._newest_lsn")),
            F.lit(APPLIED),
        )
        .otherwise(F.lit(STALE))
    )
    return joined.select("s.*", outcome.alias("outcome"))


def candidates(changes: DataFrame, existing: DataFrame) -> DataFrame:
    """The batch's winning records and the stored versions of its keys, as one frame with
    `_incoming` (1 for the batch), ready for `newest_per_version`."""
    columns = [c for c in HISTORY_COLUMNS if c not in ("valid_to", "is_current")]
    incoming = changes.where(F.col("_rank") == 1).select(*columns, F.lit(1).alias("_incoming"))
    return incoming.unionByName(existing.select(*columns, F.lit(0).alias("_incoming")))


def newest_per_version(candidates: DataFrame) -> DataFrame:
    """One record per (order_id, lsn): the winner by WINNER_ORDER; the same record stored and
    incoming is taken as incoming (so a changed reading of it replaces the stored one)."""
    order = [F.col(c).desc() for c in (*WINNER_ORDER, "_incoming")]
    window = Window.partitionBy(*VERSION_KEY).orderBy(*order)
    ranked = candidates.withColumn("_rank", F.row_number().over(window))
    return ranked.where(F.col("_rank") == 1).drop("_rank", "_incoming")


def versions(winners: DataFrame) -> DataFrame:
    """History rows for every version of the keys in `winners` (one record per version), plus
    `_is_last`: each version is valid until the next one's `valid_from`; a delete's interval is
    empty; the last version is current unless it is a delete."""
    window = Window.partitionBy("order_id").orderBy("lsn")
    next_from = F.lead("valid_from").over(window)
    is_last = F.lead("lsn").over(window).isNull()
    is_delete = F.col("op") == DELETE
    frame = winners.withColumns({"_next_from": next_from, "_is_last": is_last})
    return frame.withColumns(
        {
            "valid_to": F.when(is_delete, F.col("valid_from"))
            .when(F.col("_is_last"), F.lit(None))
            .otherwise(F.col("_next_from"))
            .cast("timestamp"),
            "is_current": F.col("_is_last") & ~is_delete,
        }
    ).select(*HISTORY_COLUMNS, "_is_last")


def history_actions(recomputed: DataFrame, existing: DataFrame) -> DataFrame:
    """`recomputed` history rows with `_action`: insert (a new version), update (a stored version
    whose record, interval or content changed) or None (stored as it is)."""
    stored = existing.select(*HISTORY_COLUMNS)
    joined = recomputed.alias("s").join(
        stored.alias("t"), [F.col(f"s.{c}") == F.col(f"t.{c}") for c in VERSION_KEY], "left"
    )
    action = F.when(F.col("t.order_id").isNull(), F.lit(INSERT)).when(
        ~_same("s", "t", HISTORY_COLUMNS), F.lit(UPDATE)
    )
    return joined.select(*[F.col(f"s.{c}") for c in HISTORY_COLUMNS], action.alias("_action"))


def newer_or_same_lsn(source: str, target: str) -> str:
    """SQL condition of the SCD 1 MERGE: `source` is a later change than `target`'s, or the
    same change read differently (ties are decided in history by WINNER_ORDER)."""
    differs = " OR ".join(f"NOT ({source}.{c} <=> {target}.{c})" for c in CONTENT_COLUMNS)
    return f"({source}.lsn > {target}.lsn OR ({source}.lsn = {target}.lsn AND ({differs})))"


def current_actions(recomputed: DataFrame, current: DataFrame) -> DataFrame:
    """For each key of `recomputed`, its last version as ORDERS_CURRENT_SCHEMA plus `_delete`
    (the last version is a delete) and `_action` on the current table: insert, update, delete
    or None. A change older than the current row's is never applied (SCD 1 by lsn)."""
    last = recomputed.where(F.col("_is_last")).select(
        *CONTENT_COLUMNS, (F.col("op") == DELETE).alias("_delete")
    )
    joined = last.alias("s").join(
        current.select(*CONTENT_COLUMNS).alias("t"),
        F.col("s.order_id") == F.col("t.order_id"),
        "left",
    )
    present = F.col("t.order_id").isNotNull()
    later = F.expr(newer_or_same_lsn("s", "t"))
    action = (
        F.when(F.col("s._delete") & present & (F.col("s.lsn") > F.col("t.lsn")), F.lit(DELETE_ROW))
        .when(~F.col("s._delete") & ~present, F.lit(INSERT))
        .when(~F.col("s._delete") & present & later, F.lit(UPDATE))
    )
    return joined.select(
        *[F.col(f"s.{c}") for c in CONTENT_COLUMNS], "s._delete", action.alias("_action")
    )


def current_rows(history: DataFrame) -> DataFrame:
    """The history's current versions as ORDERS_CURRENT_SCHEMA (what orders_current must be)."""
    return history.where(F.col("is_current")).select(*CONTENT_COLUMNS)
