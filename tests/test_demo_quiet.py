"""`news-search demo` on a fresh machine prints nothing a newcomer cannot act on."""
from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from search_service.cli import main


def test_first_demo_run_is_quiet(tmp_path: Path):
    """No admin note a newcomer cannot act on (the bundled dictionary is where rebuilds look)."""
    result = CliRunner().invoke(main, ["demo", "--no-serve", "--index-dir", str(tmp_path / "ix")])
    code, out = result.exit_code, result.output
    assert code == 0 and "note:" not in out and "Indexed" in out
    assert (tmp_path / "ix" / "userdict.txt").exists()
