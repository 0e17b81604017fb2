"""search_service.npyfile reads what np.save writes, exactly as np.load does, without the AST parser
(np.load's parser is not thread-safe on CPython 3.11, see the module)."""
from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from search_service import npyfile

ARRAYS = {
    "structured": np.array([(3, 7, 1.5), (4, 0, -2.0)], dtype=[("tl", "<u4"), ("ts", "<i8"), ("w", "<f4")]),
    "unicode": np.array(["新闻", "", "财经频道"]),
    "int32": np.arange(7, dtype=np.int32),
    "float32": np.array([0.25, 4.0], dtype=np.float32),
    "empty": np.zeros((0,), dtype=np.int64),
    "matrix": np.arange(12, dtype=np.int16).reshape(3, 4),
    "fortran": np.asfortranarray(np.arange(6, dtype=np.int32).reshape(2, 3)),
    "subarray": np.zeros(2, dtype=[("v", "<i4", (2,))]),
}


@pytest.mark.parametrize("name", sorted(ARRAYS))
def test_reads_what_np_save_wrote_without_the_ast_parser(tmp_path: Path, name: str,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / f"{name}.npy"
    np.save(path, ARRAYS[name], allow_pickle=False)
    expected = np.load(path, allow_pickle=False)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("ast.literal_eval was called")

    monkeypatch.setattr(ast, "literal_eval", refuse)
    got = npyfile.open_readonly(path)
    assert got.dtype == expected.dtype
    assert got.shape == expected.shape
    assert got.tobytes() == expected.tobytes()
    assert got.flags.f_contiguous == expected.flags.f_contiguous
    if got.size:
        assert not got.flags.writeable


def test_a_header_it_does_not_know_goes_to_np_load(tmp_path: Path) -> None:
    path = tmp_path / "odd.npy"
    np.save(path, np.arange(3, dtype=np.int32))
    raw = path.read_bytes()
    # Same header with a double-quoted key: valid for np.load, not the form np.save writes.
    head_len = int.from_bytes(raw[8:10], "little")
    header = raw[10:10 + head_len].decode("latin-1").replace("'shape'", '"shape"')
    path.write_bytes(raw[:10] + header.encode("latin-1") + raw[10 + head_len:])
    assert npyfile.open_readonly(path).tolist() == [0, 1, 2]


def test_a_truncated_file_is_a_value_error(tmp_path: Path) -> None:
    path = tmp_path / "short.npy"
    np.save(path, np.arange(1000, dtype=np.int64))
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ValueError):
        npyfile.open_readonly(path)
