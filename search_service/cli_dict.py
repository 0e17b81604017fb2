"""`news-search check-dict`: how a text is segmented before and after the user dictionary, and the
query-time synonyms and stop words (search_service.synonyms) a search would apply to it."""
from __future__ import annotations

import json
from pathlib import Path

import click

from indexer.store import index_dir_option
from search_service.synonyms import check_segmentation


@click.command("check-dict")
@click.argument("text")
@index_dir_option
@click.option("--userdict", type=click.Path(dir_okay=False, exists=True),
              help="User dictionary to try (default: INDEX_DIR/userdict.txt).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def check_dict(text: str, index_dir: Path, userdict: str | None, as_json: bool) -> None:
    """Show how TEXT is segmented before and after the user dictionary, and the synonyms and
    stop words queries would apply (from INDEX_DIR/synonyms.txt and stopwords.txt)."""
    out = check_segmentation(text, index_dir, userdict)
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    click.echo(f"without user dictionary: {' / '.join(out['before'])}")
    click.echo(f"with {out['userdict'] or '(no user dictionary)'}: {' / '.join(out['after'])}"
               + ("" if out["changed"] else "   (same)"))
    click.echo(f"index terms:  {' '.join(out['index_terms'])}")
    for syn in out["synonyms"]:
        click.echo(f"synonyms:     {''.join(syn['words'])} = {' | '.join(syn['alternatives'])}")
    if out["stop_words"]:
        click.echo(f"stop words:   {' '.join(out['stop_words'])} (dropped from multi-word queries)")
    for problem in out["problems"]:
        click.echo(f"warning: {problem}", err=True)
