"""Issue 19, admin rows: gc/rollback/rebuild decide from verified state (rows 1, 5, 6, 9, 12) and
rebuild refuses to shrink the live index under half (issue 16 item 6)."""
from __future__ import annotations

import errno
import os
import random
import shutil
from pathlib import Path

import pytest

from indexer.build import rebuild
from indexer.demo_data import demo_sources, demo_userdict
from indexer.errors import WriterBusy
from indexer.store import IndexStore, serves_current
from tests.lifecycle_util import cli, copy_index, write_jsonl


@pytest.fixture()
def two_gens(demo_index: Path, tmp_path: Path) -> Path:
    """gen-000002 live, gen-000001 previous (a copy: no second rebuild needed)."""
    index = copy_index(demo_index, tmp_path)
    gens = index / "generations"
    shutil.copytree(gens / "gen-000001", gens / "gen-000002")
    (index / "PREVIOUS").write_text("gen-000001\n")
    (index / "CURRENT").write_text("gen-000002\n")
    return index


def gen_names(index: Path) -> list[str]:
    return sorted(p.name for p in (index / "generations").iterdir())


def seg_file(gen: Path) -> Path:
    return next(gen.glob("*.seg"))


def garble(path: Path, start: float = 0.1, end: float = 0.9) -> None:
    """Overwrite the middle of a file with seeded random bytes (a damaged disk block)."""
    size = path.stat().st_size
    lo, hi = int(size * start), int(size * end)
    with open(path, "r+b") as fh:
        fh.seek(lo)
        fh.write(random.Random(19).randbytes(hi - lo))


# -- row 1: gc without a readable CURRENT -------------------------------------------------------

@pytest.mark.parametrize("damage, state", [("missing", "missing"), ("garbage", "unreadable"),
                                           ("dangling", "unreadable")])
def test_gc_refuses_without_a_readable_current(two_gens: Path, damage: str, state: str) -> None:
    current = two_gens / "CURRENT"
    if damage == "missing":
        current.unlink()
    elif damage == "garbage":
        current.write_text("garbage\n")
        (two_gens / "PREVIOUS").unlink()
    else:
        current.write_text("gen-000007\n")
    result = cli("gc", "--index-dir", two_gens, "--grace", "0")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: refusing to collect garbage in {two_gens}: CURRENT is {state}, ")
    assert "nothing was removed" in result.stderr
    assert gen_names(two_gens) == ["gen-000001", "gen-000002"]


def test_gc_with_garbled_previous_keeps_every_complete_generation(two_gens: Path) -> None:
    gens = two_gens / "generations"
    shutil.copytree(gens / "gen-000001", gens / "gen-000003")
    (gens / "gen-000004").mkdir()  # half-built, dead writer: still removed
    (two_gens / "PREVIOUS").write_text("\x00\x01garbled")
    result = cli("gc", "--index-dir", two_gens, "--grace", "0")
    assert result.exit_code == 0, result.output
    assert gen_names(two_gens) == ["gen-000001", "gen-000002", "gen-000003"]


# -- rows 5 and 6: damage is found by check and refused by rollback -----------------------------

def test_check_reports_a_garbled_segment_without_a_traceback(two_gens: Path) -> None:
    garble(seg_file(two_gens / "generations" / "gen-000002"))
    for args in ((), ("--full",)):
        result = cli("check", "--index-dir", two_gens, *args)
        assert result.exit_code == 1
        assert "Traceback" not in result.output
        lines = result.stdout.splitlines()
        count, _, rest = lines[-1].partition(" problem(s): ")
        assert rest.startswith("gen-000002, ") and int(count) == sum(x.startswith("problem: ") for x in lines)
        assert all(line.startswith(("problem: ", "warning: ")) for line in lines[:-1])


def test_check_full_finds_damaged_postings_the_quick_check_misses(two_gens: Path) -> None:
    # Where postings sit in the segment file depends on the build: try small windows in turn until
    # one damages only postings (quick check ok), then --full must name it.
    seg = seg_file(two_gens / "generations" / "gen-000002")
    pristine = seg.read_bytes()
    for start in range(2, 60, 3):
        seg.write_bytes(pristine)
        garble(seg, start / 100, (start + 2) / 100)
        if cli("check", "--index-dir", two_gens).exit_code != 0:
            continue
        full = cli("check", "--index-dir", two_gens, "--full")
        assert full.exit_code == 1
        assert any(f"problem: {what}" in full.stdout
                   for what in ("the postings of ", "the term dictionary ", "stored fields of document "))
        return
    pytest.fail("no window of the segment file damaged postings only")


def test_rollback_refuses_a_damaged_previous_generation(two_gens: Path) -> None:
    seg = seg_file(two_gens / "generations" / "gen-000001")
    os.truncate(seg, seg.stat().st_size // 2)
    result = cli("rollback", "--index-dir", two_gens)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: refusing to roll back to gen-000001: it is damaged (")
    assert result.stderr.rstrip().endswith("gen-000002 stays live. `news-search rebuild` makes a new generation")
    assert (two_gens / "CURRENT").read_text() == "gen-000002\n"
    assert (two_gens / "PREVIOUS").read_text() == "gen-000001\n"


def test_rollback_to_a_sound_previous_still_works(two_gens: Path) -> None:
    assert cli("rollback", "--index-dir", two_gens).exit_code == 0
    assert (two_gens / "CURRENT").read_text() == "gen-000001\n"


# -- issue 16 item 6: no switch to a much smaller index ----------------------------------------

def test_rebuild_refuses_to_shrink_under_half(demo_index: Path, tmp_path: Path) -> None:
    index = copy_index(demo_index, tmp_path)
    small = write_jsonl(tmp_path / "small.jsonl", [
        {"id": f"s{i}", "title": f"南屿港第{i}条航线开通", "body": "南屿港今天开通一条新的集装箱航线。"} for i in range(3)])
    result = cli("rebuild", small, "--index-dir", index, "--quiet", "--procs", "1")
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: the new generation holds 3 articles, under half of the 50 in the live generation gen-000001: "
        "refusing to switch (a missing or truncated source?). The new generation was removed and gen-000001 "
        "stays live. Check the sources, or rerun with --allow-shrink to make the smaller index live\n")
    assert (index / "CURRENT").read_text() == "gen-000001\n"
    assert gen_names(index) == ["gen-000001"]
    forced = cli("rebuild", small, "--index-dir", index, "--quiet", "--procs", "1", "--allow-shrink")
    assert forced.exit_code == 0, forced.output
    assert (index / "CURRENT").read_text() == "gen-000002\n"


# -- row 9: a deleted writer.lock is noticed ---------------------------------------------------

def test_rebuild_does_not_switch_after_its_lock_file_was_replaced(demo_index: Path, tmp_path: Path) -> None:
    index = copy_index(demo_index, tmp_path)
    extra = write_jsonl(tmp_path / "extra.jsonl", [
        {"id": "lock-1", "title": "南屿港新航线开通", "body": "南屿港今天开通一条新的集装箱航线。"}])
    seen: dict[str, object] = {}

    def meddle(_report: object) -> None:
        if seen:
            return
        (index / "writer.lock").unlink()
        seen["update"] = cli("update", extra, "--index-dir", index, "--quiet")
        half_built = [g for g in gen_names(index) if g != "gen-000001"]
        seen["gc"] = cli("gc", "--index-dir", index, "--grace", "0")
        seen["kept"] = all((index / "generations" / g).is_dir() for g in half_built) and half_built

    with pytest.raises(WriterBusy, match="was removed or replaced while this rebuild held it"):
        rebuild(demo_sources(), index, userdict=str(demo_userdict()), procs=1, progress=meddle)
    assert seen["update"].exit_code == 0, seen["update"].output  # type: ignore[union-attr]
    assert seen["kept"] == ["gen-000002"]  # the other writer's gc left the half-built generation alone
    assert (index / "CURRENT").read_text() == "gen-000001\n"
    assert cli("search", "南屿港新航线", "--index-dir", index).stdout.count("lock-1") >= 1


def test_a_replaced_lock_stops_the_holder(tmp_path: Path) -> None:
    lock = IndexStore(tmp_path).writer_lock(action="update").acquire()
    lock.ensure_held()
    (tmp_path / "writer.lock").unlink()
    with pytest.raises(WriterBusy, match="nothing was committed or switched"):
        lock.ensure_held()
    lock.release()


# -- row 12: disk faults are one Error line ----------------------------------------------------

@pytest.mark.parametrize("command", [("delete", "demo-001"), ("optimize",), ("rollback",)])
def test_disk_faults_are_one_error_line(two_gens: Path, monkeypatch: pytest.MonkeyPatch,
                                        command: tuple[str, ...]) -> None:
    import indexer.store as store_module
    from whoosh.filedb.filestore import FileStorage

    def full_disk(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", "MAIN_x.seg")

    # Fault injection where each command first writes: Whoosh's files (a commit) or a pointer.
    monkeypatch.setattr(FileStorage, "create_file", full_disk)
    monkeypatch.setattr(store_module, "_write_atomic", full_disk)
    result = cli(*command, "--index-dir", two_gens)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.stderr == ("Error: No space left on device: MAIN_x.seg; nothing was committed or switched, "
                             "the live index is as it was before this command\n")
    assert (two_gens / "CURRENT").read_text() == "gen-000002\n"
    assert cli("check", "--index-dir", two_gens).exit_code == 0


# -- readiness helper for /readyz ---------------------------------------------------------------

def test_serves_current_tells_a_stale_service(two_gens: Path) -> None:
    assert serves_current(two_gens, "gen-000002") is True
    assert serves_current(two_gens, "gen-000001") is False
    (two_gens / "CURRENT").unlink()
    assert serves_current(two_gens, "gen-000002") is False
