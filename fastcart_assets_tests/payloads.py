"""Hypothesis strategies for hostile Kafka payloads, and reference answers written from SPEC.md.

The reference functions (`reference_parse`, `expected_column`, `reference_timestamp_micros`,
`expected_failures`) restate §5-6 in plain Python, independently of `fastcart_assets`, so the
property tests compare the product with the spec rather than with itself.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from fastcart_assets_tests.helpers import order_event

ADDRESS_FIELDS = ("street", "city", "state", "zip_code", "country")
STRING_FIELDS = (
    "order_id",
    "timestamp",
    "product_id",
    "product_name",
    "customer_id",
    "customer_email",
    "payment_method",
    "status",
    "cancellation_reason",
)
EVENT_FIELDS = (*STRING_FIELDS, "quantity", "price", "total", "shipping_address")
STATUSES = ("pending", "confirmed", "processing", "shipped", "cancelled")
HARD = ("malformed_json", "missing_order_id", "missing_customer_id", "invalid_total")
HARD += ("invalid_timestamp",)
RESERVED = {
    *EVENT_FIELDS,
    "_raw",
    "kafka_topic",
    "kafka_partition",
    "kafka_offset",
    "kafka_timestamp",
    "kafka_key",
    "kafka_key_bytes",
    "kafka_headers",
    "kafka_incarnation",
    "ingestion_timestamp",
    "ingestion_date",
}
PLAIN_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Instants a Silver timestamp can hold and every client can read back (years 1 to 9999, UTC).
MIN_MICROS = (datetime(1, 1, 1, tzinfo=UTC) - EPOCH) // timedelta(microseconds=1)
MAX_MICROS = (datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC) - EPOCH) // timedelta(
    microseconds=1
)
# The ISO-8601 extended calendar date AND time profile (RFC 3339 plus optional seconds, a comma
# fraction and basic offsets); ASCII digits only.
ISO_EXTENDED_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2})?([.,][0-9]+)?"
    r"([Zz]|[+-][0-9]{2}(:?[0-9]{2})?)?"
)
# Spark (java.time.ZoneOffset) holds offsets up to 18 hours; real zones stay within 14.
MAX_OFFSET = timedelta(hours=18)

EXTREME_NUMBERS = (
    0,
    -0.0,
    -1,
    1e308,
    -1e308,
    5e-324,
    1e-7,
    0.1 + 0.2,
    2**31 - 1,
    2**31,
    -(2**31) - 1,
    2**63 - 1,
    2**64,
    2**70,
    10**30,
)
WEIRD_STRINGS = (
    "",
    " ",
    "\t\r\n",
    "\u00a0",
    "\u200b",
    "\x00",
    "null",
    "NaN",
    "pending ",
    "PENDING",
    "😀" * 3,
    "e\u0301",
    "\u202eRTL",
    "x" * 5_000,
)
ODD_FIELD_NAMES = (
    "ORDER_ID",
    "Total",
    "_RAW",
    "Kafka_Offset",
    "ingestion_date",
    "with space",
    "dotted.name",
    "1starts_with_digit",
    "x" * 65,
    "émoji😀",
    "",
    "a-b",
)


# --- reference answers --------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def reference_parse(value: bytes | None) -> dict[str, Any] | None:
    """The payload as a JSON object, else None.

    The payload is read as the text `_raw` holds (UTF-8, an invalid byte read as U+FFFD; a
    byte-order mark is not JSON whitespace), so Bronze and Silver judge the same text. JSON
    per RFC 8259: no NaN/Infinity; a duplicate key keeps its last value.
    """
    if not value:
        return None
    try:
        parsed = json.loads(value.decode("utf-8", "replace"), parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return None
    return parsed if isinstance(parsed, dict) else None


def _as_double(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def expected_column(name: str, value: Any) -> Any:
    """Bronze's column `name` for a payload field value (SPEC §5: wrong type -> null)."""
    if name == "quantity":
        ok = isinstance(value, int) and not isinstance(value, bool)
        return value if ok and -(2**31) <= value < 2**31 else None
    if name in ("price", "total"):
        return _as_double(value)
    if name == "shipping_address":
        if not isinstance(value, dict):
            return None
        return {part: value.get(part) if isinstance(value.get(part), str) else None for part in
                ADDRESS_FIELDS}  # fmt: skip
    return value if isinstance(value, str) else None


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip(" \t\r\n") == "")


def reference_timestamp_micros(text: Any) -> int | None:
    """Epoch microseconds of an ISO-8601 date-and-time string (no offset = UTC), else None.

    Python's `datetime.fromisoformat` (3.11) decides the value; the string must be in the
    extended calendar profile (it also reads basic, week and hour-only forms), within Spark's
    offset range, and its instant within years 1..9999. Surrounding spaces are ignored.
    """
    if not isinstance(text, str):
        return None
    stripped = text.strip(" ")
    if not ISO_EXTENDED_DATETIME.fullmatch(stripped):
        return None
    try:
        parsed = datetime.fromisoformat(stripped.replace("z", "Z"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    if abs(parsed.utcoffset()) > MAX_OFFSET:
        return None
    micros = (parsed - EPOCH) // timedelta(microseconds=1)
    return micros if MIN_MICROS <= micros <= MAX_MICROS else None


def _first_partition_micros() -> int:
    """Midnight UTC of the first daily partition (FASTCART_FIRST_DATE), in epoch µs."""
    from fastcart_assets.partitions import FIRST_DATE

    first = datetime(FIRST_DATE.year, FIRST_DATE.month, FIRST_DATE.day, tzinfo=UTC)
    return (first - EPOCH) // timedelta(microseconds=1)


def expected_failures(
    payload: dict[str, Any] | None, ingested_micros: int
) -> tuple[list[str], list[str]]:
    """(hard rules, soft rules) a payload fails, in registry order (SPEC §6)."""
    fields = payload or {}
    total = expected_column("total", fields.get("total"))
    price = expected_column("price", fields.get("price"))
    quantity = expected_column("quantity", fields.get("quantity"))
    micros = reference_timestamp_micros(expected_column("timestamp", fields.get("timestamp")))
    status = expected_column("status", fields.get("status"))
    hard = {
        "malformed_json": payload is None,
        "missing_order_id": is_blank(expected_column("order_id", fields.get("order_id"))),
        "missing_customer_id": is_blank(expected_column("customer_id", fields.get("customer_id"))),
        "invalid_total": total is None or total <= 0,
        "invalid_timestamp": micros is None,
    }
    mismatch = (
        price is None
        or quantity is None
        or (total is not None and round(abs(total - price * quantity), 6) > 0.01)
    )
    soft = {
        "total_mismatch": mismatch,
        "invalid_status": status not in STATUSES,
        "future_timestamp": micros is not None and micros > ingested_micros + 300_000_000,
        "stale_timestamp": micros is not None and micros < _first_partition_micros(),
    }
    return [n for n, failed in hard.items() if failed], [n for n, failed in soft.items() if failed]


# --- strategies ---------------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
field_names = st.one_of(
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True),
    st.text(max_size=12),
    st.sampled_from(ODD_FIELD_NAMES),
)


@st.composite
def timestamp_texts(draw: st.DrawFn) -> str:
    """Timestamps in ISO forms (offsets, fractions, separators) and in other formats."""
    moment = draw(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1)))
    kind = draw(st.sampled_from(["iso"] * 4 + ["other", "text"]))
    if kind == "text":
        return draw(st.text(max_size=30))
    if kind == "other":
        formats = [
            moment.strftime("%Y-%m-%d"),  # a bare date
            moment.strftime("%Y%m%dT%H%M%SZ"),  # ISO basic format
            moment.strftime("%Y-%m-%dT%H"),  # hours only
            moment.strftime("%G-W%V-%uT%H:%M"),  # a week date
            moment.strftime("%d/%m/%Y %H:%M"),
            moment.strftime("%a, %d %b %Y %H:%M:%S +0000"),  # RFC 2822
            moment.strftime("%Y-%m-%dT%H:%M:%S UTC"),
            moment.strftime("%Y-%m-%dT%H:%M:%S") + "+05:30:15",
            moment.strftime("%Y-%m-%dT%H:%M:%S") + "+19:00",
            moment.strftime("%Y-%m-%dT%H:%M:%S.Z"),
            moment.strftime("\t%Y-%m-%dT%H:%M:%SZ"),
            moment.strftime("%Y-%m-%d\u200b%H:%M"),
            moment.strftime("%Y-%m-%dT%H:%M:%S").translate(str.maketrans("0123", "٠١٢٣")),
            str(int(moment.replace(tzinfo=UTC).timestamp())),
            moment.strftime("%Y-02-30T%H:%M:%S"),
            moment.strftime("%Y-%m-%dT24:%M:%S"),
        ]
        return draw(st.sampled_from(formats))
    text = moment.strftime("%Y-%m-%d") + draw(st.sampled_from(["T", "t", " "]))
    text += moment.strftime("%H:%M")
    if draw(st.booleans()):
        text += moment.strftime(":%S")
    digits = draw(st.integers(min_value=0, max_value=9))
    if digits:
        text += draw(st.sampled_from(".,")) + f"{moment.microsecond:06d}{'987'}"[:digits]
    offset = draw(st.sampled_from(["", "Z", "z", "hh", "hhmm", "hh:mm"]))
    if offset in ("", "Z", "z"):
        text += offset
    else:
        minutes = draw(st.integers(min_value=-18 * 60, max_value=18 * 60))
        sign, hours, mins = "-" if minutes < 0 else "+", abs(minutes) // 60, abs(minutes) % 60
        mins = 0 if offset == "hh" else mins
        text += {
            "hh": f"{sign}{hours:02d}",
            "hhmm": f"{sign}{hours:02d}{mins:02d}",
            "hh:mm": f"{sign}{hours:02d}:{mins:02d}",
        }[offset]
    return draw(st.sampled_from(["", " "])) + text + draw(st.sampled_from(["", "  "]))


def _field_value(name: str) -> st.SearchStrategy[Any]:
    """A hostile value for field `name`: missing-ish, wrong type, extreme or odd text."""
    options = [json_values, st.sampled_from(WEIRD_STRINGS), st.sampled_from(EXTREME_NUMBERS)]
    if name == "timestamp":
        options.append(timestamp_texts())
    if name == "status":
        options.append(st.sampled_from(STATUSES))
    if name == "shipping_address":
        options.append(st.dictionaries(st.sampled_from(ADDRESS_FIELDS), json_values))
    return st.one_of(*options)


MISSING = object()


@st.composite
def events(draw: st.DrawFn) -> dict[str, Any]:
    """An order event with some fields missing, of a wrong type, extreme, plus extra fields.

    Order ids and timestamps come from small pools, so batches hold duplicate keys.
    """
    n = draw(st.integers(min_value=0, max_value=15))
    event = order_event(n, timestamp=draw(st.sampled_from(TIMESTAMP_POOL)))
    event["status"] = draw(st.sampled_from(STATUSES))
    for name in EVENT_FIELDS:
        roll = draw(st.integers(min_value=0, max_value=9))
        if roll == 0:
            event.pop(name, None)
        elif roll == 1:
            event[name] = draw(_field_value(name))
    for name, value in draw(st.dictionaries(field_names, json_values, max_size=3)).items():
        event[name] = value
    return event


TIMESTAMP_POOL = (
    "2025-11-09T15:55:40.669190Z",
    "2025-11-09T17:55:40.669190+02:00",  # the same instant as the first
    "2025-11-10T08:00:00",
    "2025-11-10 08:00:00.5-03:00",
    "2025-11-10T12:04:59Z",  # within 5 min of the D1 ingestion time (12:00): not future
    "2025-11-10T12:05:01Z",  # future for rows ingested on D1 at 12:00, not for D2's
    "2099-01-01T00:00:00Z",
)


def _dumps(obj: Any, draw: st.DrawFn) -> bytes:
    ascii_only = draw(st.booleans())
    indent = draw(st.sampled_from([None, None, 2, "\t"]))
    return json.dumps(obj, ensure_ascii=ascii_only, indent=indent).encode()


@st.composite
def payloads(draw: st.DrawFn, huge: int = 100_000) -> bytes | None:
    """One Kafka message value: an event (clean or hostile) or something that is not one."""
    kind = draw(
        st.sampled_from(
            ["event"] * 10
            + ["duplicate_keys", "nan", "bytes", "not_object", "text", "empty", "none", "deep"]
            + ["huge", "invalid_utf8"]
        )
    )
    if kind == "event":
        return _dumps(draw(events()), draw)
    if kind == "duplicate_keys":
        event = draw(events())
        pairs = list(event.items())
        for name in draw(st.lists(st.sampled_from(EVENT_FIELDS), min_size=1, max_size=3)):
            pairs.insert(draw(st.integers(0, len(pairs))), (name, draw(_field_value(name))))
        body = ",".join(f"{json.dumps(k)}:{json.dumps(v)}" for k, v in pairs)
        return ("{" + body + "}").encode()
    if kind == "nan":
        event = draw(events())
        event[draw(st.sampled_from(["total", "price", "zz_extra"]))] = draw(
            st.sampled_from([math.nan, math.inf, -math.inf])
        )
        return json.dumps(event).encode()  # NaN / Infinity literals: not JSON
    if kind == "bytes":
        return draw(st.binary(max_size=64))
    if kind == "not_object":
        return json.dumps(draw(st.one_of(json_scalars, st.lists(json_values)))).encode()
    if kind == "text":
        return draw(st.text(max_size=40)).encode()
    if kind == "empty":
        return b""
    if kind == "none":
        return None
    if kind == "deep":
        # Depths 128..~1100 are left to test_deeply_nested_object_is_judged_alike (a known bug).
        depth = draw(st.sampled_from([2, 64, 100, 100_000]))
        nested = "[" * depth + "]" * depth
        host = draw(st.sampled_from(["{%s}", '{"zz": %s}', '{"order_id": %s}', "%s"]))
        return (host % (nested if host != "{%s}" else f'"a": {nested}')).encode()
    if kind == "huge":
        event = draw(events())
        event[draw(st.sampled_from(["order_id", "product_name", "zz_big"]))] = "x" * huge
        return json.dumps(event).encode()
    # A JSON object holding bytes that are not UTF-8 (Latin-1 text, a stray byte).
    event = draw(events())
    encoded = json.dumps(event, ensure_ascii=False).encode()
    return encoded.replace(b'"', b'"\xe9', 1) if draw(st.booleans()) else encoded + b"\xff"
