"""The read loop's garbage-collector setting: raised while any loop runs, then restored."""

from __future__ import annotations

import gc
import threading

from fastcart_assets.bronze.reader import GC_YOUNG_THRESHOLD, _fewer_collections


def test_overlapping_read_loops_raise_the_threshold_and_the_last_one_restores_it():
    default = gc.get_threshold()
    first_in, second_in, first_out = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def first():
        with _fewer_collections():
            first_in.set()
            second_in.wait(10)
            seen["first"] = gc.get_threshold()
        first_out.set()

    def second():
        first_in.wait(10)
        with _fewer_collections():
            second_in.set()
            first_out.wait(10)
            seen["second, after the first ended"] = gc.get_threshold()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert seen["first"] == (GC_YOUNG_THRESHOLD, *default[1:])
    assert seen["second, after the first ended"] == (GC_YOUNG_THRESHOLD, *default[1:])
    assert gc.get_threshold() == default
