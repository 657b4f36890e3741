"""The JSON-LD export of the whole catalogue at N records: time and peak memory.

    python bench/linked_data.py                     # 100,000 records on PostgreSQL
    python bench/linked_data.py --records 5000      # a quick run
    python bench/linked_data.py --reuse             # the database of an earlier run

It creates (and drops first) its own database and seeds it as bench/catalogue.py does (same
agencies, texts and mix of publication levels), then streams /api/v1/use-cases/export.jsonld
(and export.ttl with --turtle) through Django's test client in this process, as a network
member (every network and public record). A thread samples this process's RSS every 20 ms; the
figure that matters is the peak above the RSS before the export: constant memory means it does
not grow with the number of records. The export is parsed back with rdflib when --check is given
(that needs memory of its own, so it runs after the measurement).
"""

import argparse
import importlib.util
import os
import threading
import time
from pathlib import Path

# bench/catalogue.py's seeding and RSS helpers, loaded by path: its module name is the app's.
_spec = importlib.util.spec_from_file_location(
    "bench_catalogue", Path(__file__).resolve().parent / "catalogue.py"
)
catalogue_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(catalogue_bench)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--database", default="ar_bench_linked_data")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--reuse", action="store_true", help="keep an earlier run's database")
    parser.add_argument("--turtle", action="store_true", help="measure export.ttl as well")
    parser.add_argument("--check", action="store_true", help="parse the JSON-LD back (slow)")
    return parser.parse_args(namespace=argparse.Namespace(cache_url=None))


def setup(args) -> None:
    catalogue_bench.configure(args, static_root=str(Path("/tmp") / "ar-bench-static"))
    os.environ["CATALOGUE_CACHE_SECONDS"] = "0"
    if not args.reuse:
        catalogue_bench.recreate_database(args)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if not args.reuse:
        seconds = catalogue_bench.seed(args.records)
        print(f"seeded {args.records:,} records in {seconds:.0f} s")


def measure(url: str, *, keep_to: Path | None = None) -> dict:
    """Stream url as a network member, sampling this process's RSS."""
    from rest_framework.test import APIClient

    from registry.models import Agency, User

    user, _ = User.objects.get_or_create(
        username="bench-member", defaults={"agency": Agency.objects.get(code="EMA")}
    )
    client = APIClient()
    client.force_authenticate(user)
    pid = os.getpid()
    baseline = catalogue_bench.rss_kib(pid)
    peak = [baseline]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], catalogue_bench.rss_kib(pid))
            done.wait(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.perf_counter()
    size = 0
    response = client.get(url, HTTP_HOST="127.0.0.1")
    assert response.status_code == 200, response.content[:300]
    out = keep_to.open("wb") if keep_to else None
    for chunk in response.streaming_content:
        size += len(chunk)
        if out:
            out.write(chunk)
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    if out:
        out.close()
    return {"seconds": elapsed, "mib": size / 2**20, "baseline": baseline, "peak": peak[0]}


def report(name: str, records: int, figures: dict) -> None:
    grown = (figures["peak"] - figures["baseline"]) / 1024
    print(
        f"{name}: {records:,} records in {figures['seconds']:.1f} s "
        f"({records / figures['seconds']:,.0f} records/s), {figures['mib']:.0f} MiB; "
        f"RSS {figures['baseline'] / 1024:.0f} MiB before, peak {figures['peak'] / 1024:.0f} MiB "
        f"(+{grown:.0f} MiB)"
    )


def main() -> None:
    args = parse_args()
    setup(args)
    from registry.models import UseCase

    shared = UseCase.objects.filter(publication_level__in=["network", "public"]).count()
    print(f"{shared:,} network and public records of {UseCase.objects.count():,}")
    kept = Path("/tmp/ar-bench-export.jsonld") if args.check else None
    report("export.jsonld", shared, measure("/api/v1/use-cases/export.jsonld", keep_to=kept))
    if args.turtle:
        report("export.ttl", shared, measure("/api/v1/use-cases/export.ttl"))
    if kept:
        from rdflib import Graph

        graph = Graph().parse(kept, format="json-ld")
        print(f"parsed back: {len(graph):,} triples")
        kept.unlink()


if __name__ == "__main__":
    main()
