"""Full-text search cost on SQLite (FTS5) and PostgreSQL (tsvector): N records, then each kind
of query the catalogue takes, timed through registry.search as the list view uses it.

    python bench/search.py --records 20000                  # SQLite, in a temporary directory
    python bench/search.py --records 20000 --pg postgres://postgres@127.0.0.1:5432

The PostgreSQL run creates (and drops first) its own database. Prints, per query: how many
records match, and p50/p95 ms of one search (the first page of 20 by relevance and its
snippets) over --repeat runs; and the time to migrate and seed (the index is kept by triggers,
so seeding includes indexing). Texts come from the real US federal inventory in ../shared/data
when present (bench/catalogue.py).
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUERIES = [
    ("one word", "translation"),
    ("two words", "document classification"),
    ("phrase", '"language model"'),
    ("OR", "translation OR inspection"),
    ("-word", "detection -fraud"),
    ("upper case, accents", "DÉTECTION"),
    ("acronym", "NLP"),
    ("no match", "zzyzx"),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--pg", default="", help="PostgreSQL server URL; default: SQLite")
    parser.add_argument("--database", default="ar_bench_search")
    args = parser.parse_args()
    data_dir = tempfile.mkdtemp(prefix="bench-search-")
    os.environ.update(DATA_DIR=data_dir, DJANGO_SETTINGS_MODULE="config.settings", DEBUG="0",
                      SECRET_KEY="bench-search-not-secret", LOG_LEVEL="WARNING")  # fmt: skip
    if args.pg:
        import psycopg

        with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{args.database}"')
        os.environ["DATABASE_URL"] = f"{args.pg}/{args.database}"
    else:
        os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from bench.catalogue import seed

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    seed(args.records)
    print(f"{connection.vendor}, {args.records} records: migrate + seed (indexing included) "
          f"{time.perf_counter() - started:.1f} s")  # fmt: skip
    print(f"{'query':<22}{'text':<28}{'matches':>8}{'p50 ms':>9}{'p95 ms':>9}")
    for label, text in QUERIES:
        matches, times = measure(text, args.repeat)
        p95 = statistics.quantiles(times, n=20)[-1] if len(times) > 1 else times[0]
        print(f"{label:<22}{text:<28}{matches:>8}{statistics.median(times):>9.1f}{p95:>9.1f}")


def measure(text: str, repeat: int) -> tuple[int, list[float]]:
    from catalogue import selectors
    from registry import search
    from registry.models import UseCase

    matches = search.search(UseCase.objects.all(), text).count()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        page = selectors.paginate_use_cases(
            search.search(UseCase.objects.all(), text),
            ordering="relevance",
            cursor=None,
            page_size=20,
        )
        search.snippets(page.items, text)
        times.append((time.perf_counter() - started) * 1000)
    return matches, times


if __name__ == "__main__":
    main()
