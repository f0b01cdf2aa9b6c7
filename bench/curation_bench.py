"""From "publish" on the staff page to the bot answering with the entry: how long staff wait, side by side with
what the loop cost before (a whole ingest of the knowledge base, the app stopped meanwhile).

    .venv/bin/python bench/curation_bench.py [--entries 10] [--out bench/results/curation.json]

Over a private copy of the index ``make index`` built (the running app's is left alone), a real runtime
(``bot.runtime.Runtime``: store, index, chat service, curation) publishes ``--entries`` new entries one by one
(``Curation.create``: the store, the entry's file synced alone, the chat service's derived copies rebuilt), and
each time the clock runs until a question in other words than the entry's own has been answered. Then the
entry is unpublished, until that question has been answered again. For each publication it counts the texts
embedded (the rows the sync added) and whether the answer cited the entry. Alternating with publications, the
way before is timed: the same entry stored, then a whole sync of the knowledge base (which embeds it) and the
question answered over the index read again (what a restarted app does, its start-up itself not counted).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from functools import partial
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from common import RESULTS, machine, percentile

from bot.config import get_settings
from bot.curation.entries import curated_files
from bot.runtime import Runtime
from bot.store.curation import EntryContent

THINGS = [
    ("un parking", "garer sa voiture"),
    ("une cantine", "déjeuner sur place"),
    ("une salle de sport", "faire du sport sur le campus"),
    ("une crèche", "faire garder mon enfant"),
    ("une bibliothèque", "emprunter des livres"),
    ("un internat", "dormir sur place"),
    ("un service de navette", "un bus pour venir"),
    ("une infirmerie", "voir un médecin sur place"),
    ("un casier", "ranger mes affaires"),
    ("une salle de repos", "faire une pause au calme"),
    ("des douches", "me doucher après le vélo"),
    ("un local à vélos", "laisser mon vélo"),
]


def entry(n: int) -> tuple[EntryContent, str]:
    """A new entry on something the knowledge base does not cover, and a user question in other words."""
    thing, need = THINGS[n % len(THINGS)]
    content = EntryContent(
        id=f"faq-bench-{n:03d}",
        lang="fr",
        question=f"L'école de la data propose-t-elle {thing} aux apprenants ?",
        answer=f"Aucune information n'est publiée sur {thing} : renseignez-vous auprès de l'école.",
        alternates=(f"est-ce qu'il y a {thing} à l'école de la data ?", f"peut-on {need} à l'école de la data ?"),
        programme="ecole-data-ia",
    )
    return content, f"à l'école de la data, est-ce possible de {need} ?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10)
    parser.add_argument("--out", type=Path, default=RESULTS / "curation.json")
    args = parser.parse_args()
    settings = get_settings()
    with tempfile.TemporaryDirectory(prefix="curation-bench-") as folder:
        data_dir = Path(folder) / "data"
        shutil.copytree(settings.data_dir, data_dir, ignore=shutil.ignore_patterns("*.lock", "store.sqlite*"))
        runtime = Runtime(settings.model_copy(update={"data_dir": data_dir, "database_url": None, "retention_days": 0}))
        runtime.start(background=False)
        assert runtime.ready, runtime.error
        curation, conversation = runtime.curation, runtime.conversation()
        index = runtime.service().index
        live, gone, publish, full, embedded, cited, verbatim = [], [], [], [], [], 0, 0
        sync_all = partial(index.sync, settings.kb_dir, curated=partial(curated_files, curation.records))
        for n in range(args.entries):
            content, asked = entry(n)
            before = {name: part.count() for name, part in index.parts.items()}
            started = time.perf_counter()
            published = curation.create(content, "bench")
            answer = conversation.ask(asked)
            live.append((time.perf_counter() - started) * 1000)
            publish.append(published.seconds * 1000)
            embedded.append(sum(part.count() - before[name] for name, part in index.parts.items()))
            cited += any(c.source_id == content.id for c in answer.citations)
            verbatim += answer.mode == "faq" and answer.citations[0].source_id == content.id
            started = time.perf_counter()
            curation.set_published(content.id, False, published.revision, "bench")
            conversation.ask(asked)
            gone.append((time.perf_counter() - started) * 1000)
            # The way before: the entry written, then a whole sync of the knowledge base embeds it.
            curation.records.update(content.id, published.revision + 1, "bench", "restore", published=True)
            started = time.perf_counter()
            sync_all()
            conversation.ask(asked)  # reads the whole index again, as a restarted app would
            full.append((time.perf_counter() - started) * 1000)
            curation.records.update(content.id, published.revision + 2, "bench", "unpublish", published=False)
            sync_all()
            conversation.ask(asked)  # the index read again now, not by the next publication's question
        summary = {
            name: {"p50_ms": percentile(values, 0.5), "p95_ms": percentile(values, 0.95), "max_ms": max(values)}
            for name, values in {
                "publish_to_live_answer": live,
                "publish_alone": publish,
                "unpublish_to_answer": gone,
                "full_sync_embedding_it": full,
            }.items()
        }
        summary["texts_embedded_per_entry"] = {"min": min(embedded), "max": max(embedded)}
        summary["ratio_p50_full_sync_to_publish_live"] = round(
            summary["full_sync_embedding_it"]["p50_ms"] / summary["publish_to_live_answer"]["p50_ms"], 2
        )
        summary["paraphrase_answers_citing_the_entry"] = f"{cited}/{args.entries}"
        summary["paraphrase_answers_serving_it_verbatim"] = f"{verbatim}/{args.entries}"
        result = {"machine": machine(), "profile": settings.embedding_profile, "entries": args.entries}
        result["passages"] = index.count()
        result["summary"] = summary
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    for name, values in summary.items():
        print(f"{name:40} {values}")


if __name__ == "__main__":
    main()
