"""Background work gives way to requests (search_service/give_way.py): a warm-up's pause waits
while a search runs, and wait_quiet holds a rebuild back until the searches have stopped."""
from __future__ import annotations

import threading

from search_service import give_way


def hold_a_request(started: threading.Event, release: threading.Event) -> threading.Thread:
    def run() -> None:
        with give_way.request():
            started.set()
            release.wait(10)
    t = threading.Thread(target=run)
    t.start()
    assert started.wait(10)
    return t


def test_pause_returns_at_once_when_no_request_runs() -> None:
    assert give_way.running() == 0
    assert give_way.pause() == 0.0


def test_pause_waits_while_a_request_runs_but_never_forever() -> None:
    started, release = threading.Event(), threading.Event()
    t = hold_a_request(started, release)
    try:
        assert give_way.running() == 1
        waited = give_way.pause()
        assert 0 < waited < 10 * give_way.MAX_WAIT_S  # bounded even though the request never ends
    finally:
        release.set()
        t.join()
    assert give_way.running() == 0


def test_wait_quiet_returns_once_the_requests_have_stopped() -> None:
    started, release = threading.Event(), threading.Event()
    t = hold_a_request(started, release)
    timer = threading.Timer(0.2, release.set)
    timer.start()
    waited = give_way.wait_quiet(quiet_s=0.05, max_wait_s=30.0)
    t.join()
    assert 0.2 <= waited < 30.0
    assert give_way.running() == 0


def test_a_failing_request_still_counts_as_ended() -> None:
    try:
        with give_way.request():
            raise ValueError("boom")
    except ValueError:
        pass
    assert give_way.running() == 0
