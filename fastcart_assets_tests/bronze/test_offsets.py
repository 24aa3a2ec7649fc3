"""Where a Bronze run starts (`bronze.offsets.plan_positions`): pure decisions, tested for the
cases the embedded broker cannot produce (added partitions, retention) and for every reset."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from fastcart_assets.bronze.offsets import TopicState, plan_positions
from fastcart_assets.kafka.topics import Watermarks

TOPIC = "orders"


def marks(**by_partition: tuple[int, int]) -> dict[int, Watermarks]:
    """`marks(p0=(0, 10))` -> {0: Watermarks(0, 10)}."""
    return {int(name[1:]): Watermarks(*span) for name, span in by_partition.items()}


def plan(topic_marks, state=None, stored_next=None, mismatches=None, topic_id="id-1", reset="fail"):
    return plan_positions(
        TOPIC,
        topic_marks,
        state or TopicState(),
        stored_next or {},
        mismatches or {},
        topic_id,
        reset,
    )


def test_a_new_table_starts_every_partition_at_its_first_offset_and_records_the_topic_id():
    result = plan(marks(p0=(0, 10), p1=(3, 7)))
    assert result.starts == {0: 0, 1: 3}
    assert result.error is None and result.reset is None
    assert result.state == TopicState(incarnation=1, topic_id="id-1")


def test_a_run_resumes_after_the_last_offset_held():
    state = TopicState(topic_id="id-1")
    result = plan(marks(p0=(0, 10), p1=(0, 7)), state, stored_next={0: 6, 1: 7})
    assert result.starts == {0: 6, 1: 7}
    assert result.state is None  # nothing new to record
    assert result.incarnation == 1


def test_partitions_added_to_the_topic_are_read_from_their_first_offset():
    state = TopicState(topic_id="id-1")
    result = plan(marks(p0=(0, 10), p1=(0, 4), p2=(0, 3), p3=(0, 2)), state, {0: 10, 1: 4})
    assert result.starts == {0: 10, 1: 4, 2: 0, 3: 0}
    assert result.error is None


def test_partitions_added_after_a_reset_are_read_from_their_first_offset():
    state = TopicState(incarnation=2, topic_id="id-2", floors={0: 5, 1: 5})
    result = plan(marks(p0=(0, 9), p1=(0, 5), p2=(0, 4)), state, {0: 7}, topic_id="id-2")
    assert result.starts == {0: 7, 1: 5, 2: 0}
    assert result.incarnation == 2


def test_a_changed_topic_id_fails_with_what_happened_and_what_to_do():
    state = TopicState(topic_id="id-1")
    result = plan(marks(p0=(0, 3)), state, {0: 50}, topic_id="id-2")
    assert result.starts == {}
    assert "deleted and recreated" in result.error
    assert "topic id changed from id-1 to id-2" in result.error
    assert "`fastcart run --offset-reset earliest`" in result.error
    assert "Nothing was written" in result.error


def test_a_different_last_message_means_recreated_even_without_topic_ids():
    mismatch = {0: "the message at offset 49 differs from the one in Bronze"}
    result = plan(marks(p0=(0, 60)), TopicState(), {0: 50}, mismatch, topic_id=None)
    assert "deleted and recreated" in result.error and "partition 0: the message" in result.error


def test_earliest_on_a_recreated_topic_begins_the_next_incarnation_at_its_start():
    state = TopicState(incarnation=1, topic_id="id-1", floors={0: 40})
    result = plan(marks(p0=(0, 3), p1=(0, 0)), state, {0: 50}, topic_id="id-2", reset="earliest")
    assert result.starts == {0: 0, 1: 0}
    assert result.incarnation == 2
    assert result.state == TopicState(incarnation=2, topic_id="id-2", floors={0: 0, 1: 0})
    assert result.reset.new_incarnation and result.reset.skipped_messages == 0
    assert "topic incarnation 2 begins" in result.reset.describe()


def test_latest_on_a_recreated_topic_skips_what_it_holds_and_says_which_offsets():
    state = TopicState(incarnation=3, topic_id="id-3")
    result = plan(marks(p0=(0, 4), p1=(2, 2)), state, {0: 9}, topic_id="id-4", reset="latest")
    assert result.starts == {0: 4, 1: 2}
    assert result.incarnation == 4
    assert result.reset.skipped == {0: (0, 3)}  # partition 1 held nothing
    assert result.reset.skipped_messages == 4
    assert "skipped 4 messages (partition 0 offsets 0..3)" in result.reset.describe()
    metadata = result.reset.as_metadata(at=datetime(2026, 1, 1, tzinfo=UTC))
    assert metadata["skipped"] == {"0": [0, 3]} and metadata["incarnation"] == 4


def test_a_latest_reset_is_made_once_even_when_it_wrote_no_row():
    state = TopicState(incarnation=1, topic_id="id-1")
    first = plan(marks(p0=(0, 4)), state, {0: 9}, topic_id="id-2", reset="latest")
    # The run recorded first.state and wrote nothing; the topic did not change since.
    again = plan(marks(p0=(0, 4)), first.state, {}, topic_id="id-2", reset="latest")
    assert again.reset is None and again.error is None
    assert again.starts == {0: 4} and again.incarnation == 2
    later = plan(marks(p0=(0, 6)), first.state, {}, topic_id="id-2")
    assert later.starts == {0: 4}  # the two new messages are read, the skipped ones are not


def test_offsets_deleted_before_bronze_read_them_fail_the_run():
    state = TopicState(topic_id="id-1")
    result = plan(marks(p0=(20, 30), p1=(0, 5)), state, {0: 10, 1: 5})
    assert "retention passed; partition 0: offsets 10..19" in result.error
    assert "deleted and recreated" not in result.error


def test_earliest_past_retention_continues_at_the_first_offset_left_and_reports_the_loss():
    state = TopicState(topic_id="id-1")
    result = plan(marks(p0=(20, 30), p1=(0, 5)), state, {0: 10, 1: 3}, reset="earliest")
    assert result.starts == {0: 20, 1: 3}
    assert result.incarnation == 1 and not result.reset.new_incarnation
    assert result.reset.lost == {0: (10, 19)} and result.reset.skipped == {}
    assert result.state.floors == {0: 20}
    # Next run, nothing read yet: no new reset, no failure.
    again = plan(marks(p0=(20, 30), p1=(0, 5)), result.state, {1: 3})
    assert again.error is None and again.starts == {0: 20, 1: 3}


def test_latest_past_retention_skips_only_the_partition_concerned():
    state = TopicState(topic_id="id-1", floors={1: 2})
    result = plan(marks(p0=(20, 30), p1=(0, 5)), state, {0: 10, 1: 4}, reset="latest")
    assert result.starts == {0: 30, 1: 4}  # partition 1 resumes (its floor is behind)
    assert result.reset.skipped == {0: (20, 29)} and result.reset.lost == {0: (10, 19)}
    assert result.state.floors == {0: 30, 1: 2}


def test_a_floor_ahead_of_the_rows_held_wins():
    state = TopicState(topic_id="id-1", floors={0: 8})
    assert plan(marks(p0=(0, 9)), state, {0: 5}).starts == {0: 8}


def test_an_unknown_reset_mode_is_refused():
    with pytest.raises(ValueError, match="offset_reset must be one of"):
        plan(marks(p0=(0, 1)), reset="newest")


def test_the_state_survives_its_json_form():
    state = TopicState(3, "AaIn+/x", {0: 4, 12: 0}, {"mode": "latest", "skipped": {"0": [0, 3]}})
    assert TopicState.from_json(state.to_json()) == state
    assert TopicState.from_json('{"incarnation": 2}') == replace(TopicState(), incarnation=2)
