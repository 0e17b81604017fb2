"""After an update commit the next snapshot reuses what the previous one built (issue 14: no
stalls after commits): per-segment columns are not read again, reprint groups are patched (and
equal a regrouping from scratch), the suggestion data is served from the previous snapshot until
the warm-up has rebuilt it."""
from __future__ import annotations

from pathlib import Path

import pytest

from indexer.update import delete, update
from lifecycle_util import copy_index, demo_records, write_jsonl
from search_service import core
from search_service import index as index_mod
from search_service.index import SearchIndex, Snapshot
from search_service.reprints import compute_groups, groups
from search_service import suggest as suggest_mod
from search_service.suggest import suggest_data


@pytest.fixture()
def index(demo_index: Path, tmp_path: Path) -> Path:
    return copy_index(demo_index, tmp_path)


def next_snapshot(index: Path, previous: Snapshot | None) -> Snapshot:
    """What SearchIndex.snapshot() makes after a commit, without its background warm-up (which
    would race with the assertions)."""
    search = SearchIndex(index)
    return Snapshot(search.store.require_current(), "test", search.store.root, previous=previous)


def reprints(records: list[dict]) -> list[dict]:
    """An identical copy of the first article and an edited one (new last line) of the second."""
    exact = dict(records[0], id="copy-exact", url="https://news.example.com/copy/1.html")
    edited = dict(records[1], id="copy-edited", url="https://news.example.com/copy/2.html")
    edited["body"] = edited["body"] + "（本文转载自合作媒体）"
    return [exact, edited]


def test_columns_of_unchanged_segments_are_not_read_again(index: Path, tmp_path: Path) -> None:
    old = next_snapshot(index, None)
    old_folded = old.folded
    seg = old.leaves()[0][0].segment().segment_id()
    entry = index_mod._SEGMENT_VALUES[(str(old.gen.path), seg, "folded")]
    update([str(write_jsonl(tmp_path / "u.jsonl", reprints(demo_records())))], index)
    new = next_snapshot(index, old)
    assert new.previous is old
    assert index_mod._SEGMENT_VALUES[(str(new.gen.path), seg, "folded")] is entry  # the same list, reused
    assert new.folded[: len(old_folded)] == old_folded and len(new.folded) == len(old_folded) + 2


def test_patched_reprint_groups_equal_a_regrouping(index: Path, tmp_path: Path) -> None:
    records = demo_records()
    first = next_snapshot(index, None)
    groups(first)
    update([str(write_jsonl(tmp_path / "u.jsonl", reprints(records)))], index)
    second = next_snapshot(index, first)
    assert second.carried("reprint_state") is not None  # the patch path, not a regrouping
    patched = groups(second)
    ids = {d: second.stored(d)["id"] for d in patched}
    assert {"copy-exact", "copy-edited", records[0]["id"], records[1]["id"]} <= set(ids.values())
    assert patched == compute_groups(next_snapshot(index, None))  # no previous: from scratch
    # Deleting the original: its copy's pairs go with it; the groups still equal a regrouping.
    delete([records[0]["id"]], index)
    third = next_snapshot(index, second)
    assert groups(third) == compute_groups(next_snapshot(index, None))
    assert not any(third.stored(d)["id"] == records[0]["id"] for d in groups(third))


def test_suggestions_are_carried_until_the_warm_up_rebuilt_them(index: Path, tmp_path: Path) -> None:
    old = next_snapshot(index, None)
    old_data = suggest_data(old)
    update([str(write_jsonl(tmp_path / "u.jsonl", reprints(demo_records())))], index)
    new = next_snapshot(index, old)
    assert suggest_data(new) is old_data  # no seconds-long build on the request path
    core.warm(new)
    assert suggest_data(new) is not old_data and new.previous is None


def test_suggestions_are_carried_across_two_commits_before_any_warm_up(index: Path, tmp_path: Path) -> None:
    # A second commit arriving while the first one's warm-up still runs: the third snapshot must
    # still serve the first one's data, not build its own in a request (17 s on the real corpus).
    old = next_snapshot(index, None)
    old_data = suggest_data(old)
    records = reprints(demo_records())
    update([str(write_jsonl(tmp_path / "u1.jsonl", records[:1]))], index)
    middle = next_snapshot(index, old)  # never warmed: builds nothing of its own
    update([str(write_jsonl(tmp_path / "u2.jsonl", records[1:]))], index)
    third = next_snapshot(index, middle)
    assert middle.previous is None  # no chain of old snapshots is kept alive
    assert third.previous is middle and "suggest" not in middle.extra
    assert suggest_data(third) is old_data
    core.warm(third)
    assert suggest_data(third) is not old_data and third.stale == {}


def test_suggestion_words_summed_per_segment_equal_the_whole_index(index: Path, tmp_path: Path) -> None:
    old = next_snapshot(index, None)
    update([str(write_jsonl(tmp_path / "u.jsonl", reprints(demo_records())))], index)
    delete([demo_records()[2]["id"]], index)
    snap = next_snapshot(index, old)
    assert len(snap.leaves()) >= 2
    whole: dict[str, float] = {}
    reader = snap.searcher().reader()  # the multi-segment reader's doc frequencies, as before
    for fieldname, factor in (("keywords", 2.0), ("title", 1.0)):
        for term, info in reader.iter_field(fieldname):
            word = term.decode("utf-8") if isinstance(term, bytes) else term
            if suggest_mod._useful(word):
                whole[word] = whole.get(word, 0.0) + factor * info.doc_frequency()
    assert whole and suggest_mod._word_weights(snap, lambda: None) == whole
    # The unchanged segment's weights are the very dict the first snapshot read.
    seg_leaf = old.leaves()[0][0]
    first = old.segment_value(seg_leaf, "suggest_weights", lambda: pytest.fail("not cached"))
    again = [leaf for leaf, _ in snap.leaves() if leaf.segment().segment_id() == seg_leaf.segment().segment_id()]
    assert again and snap.segment_value(again[0], "suggest_weights", lambda: None) is first


def test_a_background_suggestion_build_gives_way_between_steps(index: Path) -> None:
    snap = next_snapshot(index, None)
    calls = []
    data = suggest_mod.build(snap, pause=lambda: calls.append(1))
    steps = len(data.vocab) + len(snap.live_docs)
    assert len(calls) >= steps // suggest_mod.STEP


def test_a_cold_regrouping_stops_at_the_request_deadline(index: Path) -> None:
    from search_service import deadline

    snap = next_snapshot(index, None)
    with deadline.budget(1e-6):  # already expired: the first check stops the regrouping
        partial = groups(snap)
        assert deadline.timed_out()
    assert "reprint_groups" not in snap.extra  # a cut-short grouping is never cached
    full = groups(snap)  # no budget (the warm-up's case): complete
    assert full and len(partial) < len(full)


@pytest.mark.parametrize("numpy2", [True, False])
def test_popcount_counts_set_bits_with_and_without_numpy2(numpy2: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    from search_service.reprints import popcount

    values = [0, 1, 2**63, 2**64 - 1, 0x0F0F_0000_FFFF_0001]
    if not numpy2:
        monkeypatch.delattr(np, "bitwise_count", raising=False)
    assert popcount(np.array(values, dtype=np.uint64)).tolist() == [bin(v).count("1") for v in values]


def test_postings_of_unchanged_segments_are_not_decoded_again(index: Path, tmp_path: Path) -> None:
    from search_service import postings as postings_mod

    old = next_snapshot(index, None)
    word = "地铁"
    before = postings_mod.postings(old, "body", word)
    assert len(before[0]) > 0
    leaf = old.leaves()[0][0]
    key = (str(old.gen.path), leaf.segment().segment_id(), "body", word)
    cached = postings_mod.SEGMENT_POSTINGS[key]
    records = reprints(demo_records())
    update([str(write_jsonl(tmp_path / "u.jsonl", records))], index)
    delete(["demo-007"], index)  # an article with the word
    new = next_snapshot(index, old)
    after = postings_mod.postings(new, "body", word)
    assert len(after[0]) == len(before[0]) - 1
    assert postings_mod.SEGMENT_POSTINGS[key] is cached  # the old segment's arrays, reused
    # ... while the deletion and the new segment are still seen: the same as a fresh reading.
    postings_mod.SEGMENT_POSTINGS.clear()
    fresh = postings_mod.postings(next_snapshot(index, None), "body", word)
    assert after[0].tolist() == fresh[0].tolist() and after[1].tolist() == fresh[1].tolist()


def test_keyword_ranks_of_unchanged_segments_are_not_read_again(index: Path, tmp_path: Path) -> None:
    from search_service import scoring

    old = next_snapshot(index, None)
    docnum = sorted(old.live_docs)[3]
    ranks = scoring.keyword_ranks(old, docnum)
    assert ranks and list(ranks.values()) == list(range(len(ranks)))
    assert ranks == {w: i for i, w in enumerate(old.stored(docnum)["keywords"].split())}
    update([str(write_jsonl(tmp_path / "u.jsonl", reprints(demo_records())))], index)
    new = next_snapshot(index, old)
    assert scoring.keyword_ranks(new, docnum) is ranks  # the same article, the same cached dict
    added = max(new.live_docs)  # in the commit's new segment: its own keywords
    assert scoring.keyword_ranks(new, added) == {
        w: i for i, w in enumerate(new.stored(added)["keywords"].split())}


def test_body_buckets_follow_merges_and_deletes_across_segments(index: Path, tmp_path: Path) -> None:
    """Identical copies spread over several commits' segments, one deleted, then every segment
    merged into one (documents renumbered): after each step the patched groups equal a regrouping."""
    from indexer.update import optimize

    records = demo_records()
    snap = next_snapshot(index, None)
    groups(snap)
    first = records[0]["id"]
    steps = [("update", 1, {first, "copy-1"}), ("update", 2, {first, "copy-1", "copy-2"}),
             ("delete", 1, {first, "copy-2"}), ("update", 3, {first, "copy-2", "copy-3"}),
             ("optimize", 0, {first, "copy-2", "copy-3"})]
    for n, (action, k, expected) in enumerate(steps):
        if action == "update":
            copy = dict(records[0], id=f"copy-{k}", url=f"https://news.example.com/copy/{k}.html")
            update([str(write_jsonl(tmp_path / f"u{n}.jsonl", [copy]))], index)
        elif action == "delete":
            delete([f"copy-{k}"], index)
        else:
            optimize(index, grace=0)
        before = {leaf.segment().segment_id() for leaf, _o in snap.leaves()}
        snap = next_snapshot(index, snap)
        assert snap.carried("reprint_state") is not None
        patched = groups(snap)
        assert patched == compute_groups(next_snapshot(index, None)), (action, k)
        ids = {snap.stored(d)["id"] for d in patched}
        assert expected <= ids and not ({"copy-1", "copy-2", "copy-3"} - expected) & ids, (action, k)
    after = {leaf.segment().segment_id() for leaf, _o in snap.leaves()}
    assert len(after) == 1 and not after & before  # the merge path ran: every old segment dropped


@pytest.mark.parametrize("kept, added, held_twice", [
    ({"A", "C"}, {}, True),          # B merged away: A and C still hold the body
    ({"A"}, {}, False),              # B and C gone: one copy left
    ({"A"}, {"D": {7: [0]}}, True),  # ... and a new segment brings one back
    ({"A", "B", "C"}, {"D": {8: [0, 1]}}, True),
])
def test_body_buckets_patched_from_the_changed_segments(kept: set[str], added: dict, held_twice: bool) -> None:
    from search_service.reprints import _patch_buckets

    old = {"A": {7: [0], 5: [1]}, "B": {7: [0]}, "C": {7: [3]}}
    buckets, multi = _patch_buckets(old, frozenset({7}), frozenset(kept | set(added)), added)
    assert set(buckets) == kept | set(added)
    assert (7 in multi) is held_twice
    assert 5 not in multi
    assert (8 in multi) is ("D" in added and 8 in added["D"])
