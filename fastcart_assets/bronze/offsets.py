"""Where a Bronze run starts reading, per Kafka partition: pure decisions, no Kafka, no Spark.

A topic deleted and recreated (on the memory-only embedded broker: any restart) starts its
offsets from 0 again, so Bronze identifies a record by (incarnation, partition, offset). The
table records, per topic, a `TopicState`: the current incarnation, the topic id it belongs to
(Kafka's topic UUID, when the broker has them) and per-partition floors, the first offsets a
reset decided to read from (so a reset is decided once, even when it wrote no row).

`plan_positions` compares what Bronze holds with what the topic holds now:
- the topic id changed, or Bronze's last record is gone or different -> the topic was
  recreated: fail, or with `earliest`/`latest` begin incarnation N+1 at the topic's start/end;
- offsets Bronze has not read were deleted (retention) -> fail, or continue at the topic's
  start (`earliest`: the deleted offsets are lost) or end (`latest`);
- otherwise resume after the last offset held (or the floor); a partition Bronze never saw,
  such as one added to the topic, starts at its first offset.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from fastcart_assets.kafka.topics import Watermarks

OFFSET_RESETS = ("fail", "earliest", "latest")


@dataclass(frozen=True)
class TopicState:
    """What Bronze recorded about its topic: incarnation, topic id, floors, the last reset."""

    incarnation: int = 1
    topic_id: str | None = None
    floors: dict[int, int] = field(default_factory=dict)
    last_reset: dict | None = None

    def to_json(self) -> str:
        return json.dumps(
            {
                "incarnation": self.incarnation,
                "topic_id": self.topic_id,
                "floors": {str(p): o for p, o in sorted(self.floors.items())},
                "last_reset": self.last_reset,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> TopicState:
        data = json.loads(text)
        return cls(
            incarnation=int(data.get("incarnation", 1)),
            topic_id=data.get("topic_id"),
            floors={int(p): int(o) for p, o in (data.get("floors") or {}).items()},
            last_reset=data.get("last_reset"),
        )


@dataclass(frozen=True)
class Reset:
    """What an `earliest`/`latest` reset did: reported in logs and materialization metadata."""

    mode: str
    reason: str
    incarnation: int  # the incarnation read from now on
    new_incarnation: bool
    skipped: dict[int, tuple[int, int]]  # partition -> [first, last] offsets skipped on purpose
    lost: dict[int, tuple[int, int]]  # partition -> [first, last] deleted before Bronze read them

    @property
    def skipped_messages(self) -> int:
        return sum(last - first + 1 for first, last in self.skipped.values())

    def describe(self) -> str:
        parts = [f"offset reset '{self.mode}': {self.reason}"]
        if self.new_incarnation:
            parts.append(f"topic incarnation {self.incarnation} begins")
        spans = ", ".join(f"partition {p} offsets {a}..{b}" for p, (a, b) in self.skipped.items())
        parts.append(f"skipped {self.skipped_messages} messages" + (f" ({spans})" if spans else ""))
        if self.lost:
            gone = ", ".join(f"partition {p} offsets {a}..{b}" for p, (a, b) in self.lost.items())
            parts.append(f"deleted before Bronze read them: {gone}")
        return "; ".join(parts)

    def as_metadata(self, at: datetime) -> dict:
        return {
            "at": at.isoformat(),
            "description": self.describe(),
            "mode": self.mode,
            "reason": self.reason,
            "incarnation": self.incarnation,
            "new_incarnation": self.new_incarnation,
            "skipped_messages": self.skipped_messages,
            "skipped": {str(p): list(r) for p, r in self.skipped.items()},
            "lost": {str(p): list(r) for p, r in self.lost.items()},
        }


@dataclass(frozen=True)
class PositionPlan:
    """Where to start per partition, the state to record (None: unchanged), and either the
    reset that was made or the error that stops the run."""

    starts: dict[int, int]
    incarnation: int
    state: TopicState | None = None
    reset: Reset | None = None
    error: str | None = None


def plan_positions(
    topic: str,
    marks: dict[int, Watermarks],
    state: TopicState,
    stored_next: dict[int, int],
    mismatches: dict[int, str],
    topic_id: str | None,
    offset_reset: str,
) -> PositionPlan:
    """Decide where a run starts reading each partition of `topic` (see the module docstring).

    Args:
        topic: the topic's name, for messages.
        marks: the topic's partitions (all of them, read fresh) and their watermarks.
        state: what the table recorded about the topic.
        stored_next: per partition, the offset after the last one Bronze holds in
            `state.incarnation`.
        mismatches: partitions whose last record in Bronze is not in the topic, and why.
        topic_id: the topic's id now, None when the broker does not say.
        offset_reset: "fail", "earliest" or "latest".
    """
    if offset_reset not in OFFSET_RESETS:
        raise ValueError(f"offset_reset must be one of {OFFSET_RESETS}, not {offset_reset!r}")
    recreated = _recreated(state, mismatches, topic_id)
    resume = {
        p: max(stored_next.get(p, -1), state.floors.get(p, -1))
        for p in marks
        if p in stored_next or p in state.floors
    }
    lost = {p: (r, marks[p].low - 1) for p, r in resume.items() if r < marks[p].low}
    if recreated is None and not lost:
        starts = {p: max(resume.get(p, m.low), m.low) for p, m in marks.items()}
        adopt = topic_id is not None and state.topic_id is None
        new_state = TopicState(state.incarnation, topic_id, state.floors, state.last_reset)
        return PositionPlan(starts, state.incarnation, new_state if adopt else None)
    if offset_reset == "fail":
        return PositionPlan({}, state.incarnation, error=_failure(topic, recreated, lost))
    if recreated is not None:
        return _new_incarnation(marks, state, topic_id, offset_reset, recreated)
    return _past_retention(marks, state, resume, lost, topic_id, offset_reset)


def _recreated(state: TopicState, mismatches: dict[int, str], topic_id: str | None) -> str | None:
    """Why the topic is a new incarnation, or None when nothing says so."""
    if state.topic_id and topic_id and state.topic_id != topic_id:
        return f"its topic id changed from {state.topic_id} to {topic_id}"
    if mismatches:
        return "; ".join(f"partition {p}: {text}" for p, text in sorted(mismatches.items()))
    return None


def _failure(topic: str, recreated: str | None, lost: dict[int, tuple[int, int]]) -> str:
    if recreated is not None:
        return (
            f"Bronze's stored offsets are not in the topic {topic!r}: it was deleted and "
            f"recreated, or the embedded broker restarted, which recreates it empty ({recreated})."
            " Nothing was written. To ingest the new topic from its first message, run "
            "`fastcart run --offset-reset earliest` (the rows already in Bronze stay); to skip "
            "what it holds now, `--offset-reset latest`."
        )
    gone = "; ".join(f"partition {p}: offsets {a}..{b}" for p, (a, b) in sorted(lost.items()))
    return (
        f"Bronze's stored offsets are not in the topic {topic!r}: messages Bronze had not read "
        f"were deleted (retention passed; {gone}). Nothing was written. Run `fastcart run "
        "--offset-reset earliest` to continue from the first message still in the topic (the "
        "deleted ones are lost), or `--offset-reset latest` to skip to its end."
    )


def _skipped(marks: dict[int, Watermarks], partitions) -> dict[int, tuple[int, int]]:
    return {
        p: (marks[p].low, marks[p].high - 1) for p in partitions if marks[p].high > marks[p].low
    }


def _new_incarnation(marks, state, topic_id, offset_reset, reason) -> PositionPlan:
    """Begin incarnation N+1 at every partition's start (`earliest`) or end (`latest`)."""
    incarnation = state.incarnation + 1
    floors = {p: (m.low if offset_reset == "earliest" else m.high) for p, m in marks.items()}
    skipped = _skipped(marks, marks) if offset_reset == "latest" else {}
    reset = Reset(offset_reset, f"topic recreated ({reason})", incarnation, True, skipped, {})
    new_state = TopicState(incarnation, topic_id, floors, None)
    return PositionPlan(dict(floors), incarnation, new_state, reset)


def _past_retention(marks, state, resume, lost, topic_id, offset_reset) -> PositionPlan:
    """Continue the partitions whose unread offsets were deleted at the topic's start or end."""
    floors = dict(state.floors)
    for p in lost:
        floors[p] = marks[p].low if offset_reset == "earliest" else marks[p].high
    skipped = _skipped(marks, lost) if offset_reset == "latest" else {}
    reason = "messages Bronze had not read were deleted (retention passed)"
    reset = Reset(offset_reset, reason, state.incarnation, False, skipped, lost)
    starts = {p: max(resume.get(p, m.low), floors.get(p, m.low), m.low) for p, m in marks.items()}
    new_state = TopicState(state.incarnation, topic_id or state.topic_id, floors, None)
    return PositionPlan(starts, state.incarnation, new_state, reset)
