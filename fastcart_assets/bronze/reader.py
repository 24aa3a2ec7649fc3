"""The one Kafka read loop of Bronze: assigned partitions -> batches of records, bounded in
messages and bytes. Used for new messages (`bronze.ingest`) and to replay a day (`bronze.replay`).

A partition is done when its next offset reaches `stop_at` (a replay's known end), at
end-of-partition past `end_at_start` (the end seen when the run began), or once past it when
no message came for the idle timeout (the embedded broker under-reports its end and answers a
fetch past it with silence). Records already fetched for a finished partition are left for
the next run, so each batch holds contiguous offsets per partition. No record's content or
metadata stops the loop.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from confluent_kafka import Consumer, KafkaError, KafkaException, Message

from fastcart_assets.bronze.records import KafkaRecord, from_message

# A poll collects messages until it has the count asked for or its timeout passes, whatever
# their size: the count asked is what fits in the rest of the batch at the size of the
# largest recent message (1 MiB assumed at first), and at most this many.
MAX_POLL_MESSAGES = 2_000
ASSUMED_MESSAGE_BYTES = 1 << 20
# A poll waits at most this long for its count. The client returns a poll only when it has the
# count or the time is up, so the last poll of a run (fewer messages left than asked for, then
# the end-of-partition events) waits this long, not the idle timeout.
POLL_TIMEOUT_S = 0.05
# While reading, the youngest generation of Python's garbage collector is collected after this
# many new container objects instead of 700. A batch holds 50,000 records (tuples the collector
# must track), so with the default every batch set off hundreds of collections and several
# full ones over the whole process heap: 15% of a Bronze step. Restored when the loop ends.
GC_YOUNG_THRESHOLD = 50_000


class IngestStalled(RuntimeError):
    """Kafka stopped delivering before the run reached the data that existed when it began."""


@dataclass
class PartitionProgress:
    """What one run reads from one Kafka partition."""

    partition: int
    start: int
    end_at_start: int
    next_offset: int
    stop_at: int | None = None  # read nothing at or beyond this offset (a replay's range)
    messages: int = 0
    gaps: int = 0

    def advance(self, offset: int) -> bool:
        """Record the message at `offset`; False when it was already read (to skip)."""
        if offset < self.next_offset:
            return False
        self.gaps += offset - self.next_offset
        self.next_offset = offset + 1
        self.messages += 1
        return True

    @property
    def lag(self) -> int:
        """Messages known to exist beyond what this run read (0 when it caught up)."""
        return max(0, self.end_at_start - self.next_offset)

    @property
    def reached_end(self) -> bool:
        return self.next_offset >= self.end_at_start

    @property
    def complete(self) -> bool:
        return self.stop_at is not None and self.next_offset >= self.stop_at


@dataclass(frozen=True)
class BatchLimits:
    """A batch is flushed at `messages` records or `bytes` bytes, whichever comes first."""

    messages: int = 50_000
    bytes: int = 64 << 20

    def poll_size(self, buffered: int, buffered_bytes: int, message_bytes: int) -> int:
        """How many messages to ask the client for, so that a poll of messages of
        `message_bytes` each does not overshoot the batch."""
        by_count = self.messages - buffered
        by_bytes = (self.bytes - buffered_bytes) // max(message_bytes, 1)
        return max(1, min(by_count, by_bytes, MAX_POLL_MESSAGES))


@dataclass
class ReadStats:
    bytes_read: int = 0
    kafka_seconds: float = 0.0


def read_batches(
    consumer: Consumer,
    progress: dict[int, PartitionProgress],
    on_batch: Callable[[list[KafkaRecord]], None],
    *,
    limits: BatchLimits,
    idle_timeout_s: float = 1.0,
    stall_timeout_s: float = 30.0,
) -> ReadStats:
    """Read every partition of `progress` (already assigned at its next offset) to its end,
    calling `on_batch` with each full batch and with the rest at the end.

    Raises:
        IngestStalled: no message for `stall_timeout_s` while a partition is short of its end;
            the message names the partitions and offsets. Batches already handed over stay.
    """
    with _fewer_collections():
        return _read(consumer, progress, on_batch, limits, idle_timeout_s, stall_timeout_s)


class _FewerCollections:
    """Raises the young-generation threshold while any read loop of this process runs."""

    def __init__(self):
        self._lock = threading.Lock()
        self._readers = 0
        self._default = gc.get_threshold()

    @contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._readers == 0:
                self._default = gc.get_threshold()
                young, *older = self._default
                gc.set_threshold(max(young, GC_YOUNG_THRESHOLD), *older)
            self._readers += 1
        try:
            yield
        finally:
            with self._lock:
                self._readers -= 1
                if self._readers == 0:
                    gc.set_threshold(*self._default)


_fewer_collections = _FewerCollections()


def _read(consumer, progress, on_batch, limits, idle_timeout_s, stall_timeout_s) -> ReadStats:
    stats = ReadStats()
    pending = {p for p, state in progress.items() if not state.complete}
    buffer: list[KafkaRecord] = []
    buffered_bytes = 0
    largest = ASSUMED_MESSAGE_BYTES
    last_message_at = time.monotonic()
    while pending:
        polled_at = time.monotonic()
        messages = consumer.consume(
            limits.poll_size(len(buffer), buffered_bytes, largest),
            timeout=min(POLL_TIMEOUT_S, idle_timeout_s),
        )
        now = time.monotonic()
        stats.kafka_seconds += now - polled_at
        if not messages:
            if now - last_message_at >= idle_timeout_s:
                pending -= {p for p in pending if progress[p].reached_end}
            if pending and now - last_message_at > stall_timeout_s:
                raise IngestStalled(_stalled(progress, pending, stall_timeout_s))
            continue
        last_message_at = now
        largest_taken = 0  # the largest record of this poll sizes the next poll
        for message in messages:
            record = _take(message, progress, pending)
            if record is None:
                continue
            size = record.size
            largest_taken = max(largest_taken, size)
            buffer.append(record)
            stats.bytes_read += size
            buffered_bytes += size
            if len(buffer) >= limits.messages or buffered_bytes >= limits.bytes:
                on_batch(buffer)
                buffer, buffered_bytes = [], 0
        largest = largest_taken or largest
    if buffer:
        on_batch(buffer)
    return stats


def _take(
    message: Message, progress: dict[int, PartitionProgress], pending: set[int]
) -> KafkaRecord | None:
    """The message's record if the run takes it; updates `pending` when a partition is done."""
    partition = message.partition()
    if partition not in pending:
        return None
    state = progress[partition]
    offset = message.offset()
    error = message.error()
    if error is not None:
        if error.code() != KafkaError._PARTITION_EOF:
            raise KafkaException(error)
        if offset >= state.end_at_start:  # EOF carries the next offset
            pending.discard(partition)
        return None
    if state.stop_at is not None and offset >= state.stop_at:
        pending.discard(partition)
        return None
    if not state.advance(offset):
        return None
    if state.complete:
        pending.discard(partition)
    return from_message(message)


def _stalled(progress: dict[int, PartitionProgress], pending: set[int], timeout_s: float) -> str:
    missing = ", ".join(
        f"partition {p} at offset {progress[p].next_offset} (end was {progress[p].end_at_start})"
        for p in sorted(pending)
    )
    return (
        f"Kafka delivered nothing for {timeout_s:.0f} s while data was missing: {missing}. "
        "Is the broker up?"
    )
