"""Turn any SQuAD-format dataset into a knowledge-base folder and an evaluation dataset.

Each paragraph becomes a Markdown page (``<article-slug>/p<NNN>.md``, so its source id is
``<article-slug>/p<NNN>``); each question becomes an item whose gold source is that paragraph and whose
expected facts are the gold answer spans (any of them). SQuAD 2.0 questions marked ``is_impossible``
become items that should be refused. Outside benchmarks then run through the same ``evals run`` as ours.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from bot.text import fold
from evals.dataset import DatasetError


@dataclass
class ImportReport:
    articles: int = 0
    paragraphs: int = 0
    questions: int = 0


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")[:60] or "article"


def import_squad(source: Path, kb_out: Path, dataset_out: Path, lang: str = "fr") -> ImportReport:
    try:
        data = json.loads(source.read_text(encoding="utf-8"))["data"]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise DatasetError(f"{source}: not a SQuAD-format file ({exc})") from exc
    report = ImportReport()
    kb_out.mkdir(parents=True, exist_ok=True)
    dataset_out.parent.mkdir(parents=True, exist_ok=True)
    used: set[str] = set()
    with dataset_out.open("w", encoding="utf-8") as items:
        for article in data:
            title = article.get("title") or "Article"
            name = slug(title)
            while name in used:  # two articles with the same title keep separate folders
                name += "-2"
            used.add(name)
            report.articles += 1
            category = slug(article.get("categorie") or article.get("category") or "squad")
            for number, paragraph in enumerate(article.get("paragraphs", []), start=1):
                source_id = f"{name}/p{number:03d}"
                page = kb_out / f"{source_id}.md"
                page.parent.mkdir(parents=True, exist_ok=True)
                page.write_text(
                    f"---\ntitle: {json.dumps(title, ensure_ascii=False)}\nlang: {lang}\n"
                    f"programme: squad\n---\n\n{paragraph['context'].strip()}\n",
                    encoding="utf-8",
                )
                report.paragraphs += 1
                for qa in paragraph.get("qas", []):
                    impossible = bool(qa.get("is_impossible"))
                    answers = sorted({a["text"].strip() for a in qa.get("answers", []) if a["text"].strip()})
                    item = {
                        "id": str(qa["id"]),
                        "question": qa["question"].strip(),
                        "lang": lang,
                        "expected_sources": [] if impossible else [source_id],
                        "expected_facts": [] if impossible else [answers],
                        "should_refuse": impossible,
                        "category": category,
                    }
                    if not impossible and not answers:
                        continue
                    items.write(json.dumps(item, ensure_ascii=False) + "\n")
                    report.questions += 1
    return report
