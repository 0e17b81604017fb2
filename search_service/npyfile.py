"""Memory-map the .npy files the indexer writes, without `np.load`'s header parser.

`np.load` reads a .npy header with `ast.literal_eval`. On CPython 3.11 the AST converter keeps its
recursion depth in interpreter-wide state, so two threads parsing at once can fail with
"SystemError: AST constructor recursion depth mismatch" (CPython gh-106905, fixed in 3.12 and
3.13 only). Warm-up threads load these files while request threads (and Flask/Werkzeug setting up
routes) may parse too, so the headers we wrote ourselves (np.save, format 1.0/2.0/3.0) are read
here as JSON; anything else goes to `np.load` under a lock.
"""
from __future__ import annotations

import json
import re
import struct
import threading
from pathlib import Path
from typing import Any

import numpy as np

MAGIC = b"\x93NUMPY"
_fallback_lock = threading.Lock()
# The header np.save writes: a dict literal of strings, lists/tuples, ints and False/True.
_SAFE = re.compile(r"[\s{}()\[\]',:<>|A-Za-z0-9_]*")


def _header(raw: bytes) -> dict[str, Any] | None:
    text = raw.decode("latin-1")
    if '"' in text or not _SAFE.fullmatch(text):
        return None
    text = (text.replace("(", "[").replace(")", "]").replace("'", '"')
            .replace("False", "false").replace("True", "true"))
    text = re.sub(r",\s*([\]}])", r"\1", text)  # trailing commas, as in "(3,)" and "..., }"
    try:
        meta = json.loads(text)
    except ValueError:
        return None
    if not isinstance(meta, dict) or set(meta) != {"descr", "fortran_order", "shape"}:
        return None
    return meta


def _dtype(descr: Any) -> np.dtype:
    if isinstance(descr, str):
        return np.dtype(descr)
    # Structured: [[name, type], ...] or [[name, type, shape], ...]
    fields = [tuple(tuple(x) if isinstance(x, list) else x for x in f) for f in descr]
    return np.dtype(fields)


def open_readonly(path: str | Path) -> np.ndarray:
    """The array in `path`, memory-mapped read-only (OSError / ValueError as np.load raises them)."""
    with open(path, "rb") as handle:
        head = handle.read(12)
        meta = None
        if head[:6] == MAGIC and len(head) >= 10:
            major = head[6]
            if major == 1:
                length, start = struct.unpack("<H", head[8:10])[0], 10
            else:
                length, start = struct.unpack("<I", head[8:12])[0], 12
            handle.seek(start)
            meta = _header(handle.read(length))
            offset = start + length
    if meta is None:
        with _fallback_lock:
            return np.load(path, mmap_mode="r", allow_pickle=False)
    dtype = _dtype(meta["descr"])
    if dtype.hasobject:
        raise ValueError(f"{path}: object arrays are not read")
    shape = tuple(meta["shape"])
    order = "F" if meta["fortran_order"] else "C"
    if int(np.prod(shape, dtype=np.int64)) == 0:
        return np.empty(shape, dtype=dtype, order=order)
    return np.memmap(path, dtype=dtype, mode="r", shape=shape, order=order, offset=offset)
