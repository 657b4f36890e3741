"""Catalogue latency under load: N records on PostgreSQL, a real gunicorn, 10 concurrent clients.

    python bench/catalogue.py                       # 100,000 records (about two minutes to seed)
    python bench/catalogue.py --records 5000        # a quick run

It creates (and drops first) its own database, migrates, seeds records with bulk_create (texts
from the real US federal inventory in ../shared/data when present), starts gunicorn on
127.0.0.1, and prints p50/p95 per scenario: the home page with facets, a full-text search, a
deep page of results (by cursor and by following `next`), a use-case detail (API and page), and
a full CSV and a full XLSX export's time with the server's peak RSS. Goal: p95 under 100 ms.
Every loop is bounded in count and time; the server is stopped at the end.

Each scenario is measured twice: "cached" repeats a few URLs, so anonymous answers come from the
response cache (catalogue/response_cache.py, CATALOGUE_CACHE_SECONDS) after each worker's first
miss; "uncached" asks a URL never asked before on every request (other search words, filters,
cursors, use cases), so every answer is computed afresh (up to --requests distinct URLs).
"""

import argparse
import csv
import datetime as dt
import itertools
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data" / "us_omb_2025_individually_reported_AI_use_cases.csv"
AGENCIES = [
    ("EMA", "European Medicines Agency", "EU", "ema"),
    ("DE-BFARM", "Federal Institute for Drugs and Medical Devices", "DE", "human"),
    ("DE-PEI", "Paul-Ehrlich-Institut", "DE", "human"),
    ("FR-ANSM", "ANSM", "FR", "human"),
    ("NL-CBG-MEB", "Medicines Evaluation Board", "NL", "human_and_veterinary"),
    ("ES-AEMPS", "AEMPS", "ES", "human_and_veterinary"),
    ("IT-AIFA", "AIFA", "IT", "human"),
    ("SE-MPA", "Medical Products Agency", "SE", "human_and_veterinary"),
    ("DK-DKMA", "Danish Medicines Agency", "DK", "human_and_veterinary"),
    ("IE-HPRA", "HPRA", "IE", "human_and_veterinary"),
    ("BE-FAMHP", "FAMHP", "BE", "human_and_veterinary"),
    ("AT-BASG", "BASG", "AT", "human_and_veterinary"),
    ("PL-URPL", "URPL", "PL", "human_and_veterinary"),
]
SEARCHES = [
    "signal detection",
    "translation",
    "chatbot",
    "fraud",
    "document classification",
    "language model",
    "image",
    "forecast",
    "inspection report",
    "survey responses",
]
CLIENTS = 10
MAX_SCENARIO_SECONDS = 120


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300, help="per scenario")
    parser.add_argument("--clients", type=int, default=CLIENTS, help="concurrent clients")
    parser.add_argument("--database", default="ar_bench_catalogue")
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--port", type=int, default=8931)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--reuse", action="store_true", help="keep the database of an earlier run with --records"
    )
    parser.add_argument(
        "--cache-url",
        help="CACHE_URL of the server, e.g. redis://127.0.0.1:6379/9 (a cache shared by its "
        "workers, as in production; cleared first); default: each worker's own memory",
    )
    parser.add_argument(
        "--only", action="append", default=[], help="only scenarios whose name contains this"
    )
    return parser.parse_args()


def configure(args, static_root: str) -> None:
    os.environ.update(
        {
            "DATABASE_URL": f"{args.pg}/{args.database}",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "0",
            "SECRET_KEY": "bench-only-secret-key-not-for-production",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "API_ANON_THROTTLE": "100000000/min",
            "STATIC_ROOT": static_root,
            "DB_CONN_MAX_AGE": "60",
            "LOG_LEVEL": "WARNING",
        }
    )
    if args.cache_url:
        os.environ["CACHE_URL"] = args.cache_url
    sys.path.insert(0, str(ROOT))


def recreate_database(args) -> None:
    import psycopg

    with psycopg.connect(f"{args.pg}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{args.database}"')


def source_texts() -> list[dict]:
    """Realistic titles and texts; synthetic ones when the shared data is not beside the repo."""
    if SHARED_DATA.exists():
        with SHARED_DATA.open(encoding="utf-8-sig", errors="replace") as handle:
            rows = [r for r in csv.DictReader(handle) if r.get("use_case_name")]
        return [
            {
                "title": r["use_case_name"][:180],
                "summary": (r.get("problem_solved") or r["use_case_name"])[:340],
                "purpose": r.get("problem_solved") or r["use_case_name"],
                "benefits": r.get("benefits") or "",
                "description": r.get("system_outputs") or "",
                "vendor": (r.get("vendor_name") or "")[:200],
            }
            for r in rows
        ]
    return [
        {
            "title": f"{topic.capitalize()} assistant",
            "summary": f"Helps assessors with {topic}.",
            "purpose": f"Faster {topic}.",
            "benefits": "",
            "description": "",
            "vendor": "",
        }
        for topic in SEARCHES
    ]


def seed(records: int) -> float:
    from django.db import connection

    from registry import vocabularies as v
    from registry.models import Agency, UseCase

    started = time.perf_counter()
    for code, name, country, kind in AGENCIES:
        Agency.objects.create(code=code, name=name, country=country, kind=kind)
    texts = source_texts()
    rnd = random.Random(42)
    levels = ["public"] * 14 + ["network"] * 4 + ["internal", "draft"]
    now = dt.datetime.now(dt.UTC)
    batch = []
    for i in range(records):
        text = texts[i % len(texts)]
        stage = rnd.choice(v.Stage.values)
        risk = rnd.choice(["minimal", "minimal", "limited", "high", "not_assessed"])
        origin = AGENCIES[i % len(AGENCIES)][0]
        started_on = dt.date(2019, 1, 1) + dt.timedelta(days=rnd.randrange(2400))
        batch.append(
            UseCase(
                origin_id=origin,
                version=1 + i % 4,
                publication_level=rnd.choice(levels),
                modified=now - dt.timedelta(minutes=i),
                received_at=None if origin == "EMA" else now,
                received_from="" if origin == "EMA" else "EMRN-HUB",
                title=f"{text['title']} ({i})",
                summary=text["summary"],
                description=text["description"],
                purpose=text["purpose"],
                benefits=text["benefits"],
                outputs=rnd.sample(v.Output.values, 1 + i % 2),
                regulatory_processes=rnd.sample(v.RegulatoryProcess.values, 1 + i % 3),
                medicine_scope=rnd.choice(v.MedicineScope.values),
                workplan_area=rnd.choice(v.WorkplanArea.values),
                techniques=rnd.sample(v.Technique.values, 1 + i % 2),
                tags=[f"tag{i % 50}"],
                stage=stage,
                started_on=started_on,
                operational_since=started_on + dt.timedelta(days=200)
                if stage == "production"
                else None,
                retired_on=dt.date(2026, 1, 1) if stage == "retired" else None,
                ai_act_role=rnd.choice(v.AiActRole.values),
                ai_act_risk=risk,
                ai_act_justification="Assessed by the AI officer." if risk == "high" else "",
                uses_gpai=i % 5 == 0,
                affects_individuals=i % 3 == 0,
                personal_data=rnd.choice(v.PersonalData.values),
                dpia_status=rnd.choice(v.DpiaStatus.values),
                human_oversight=rnd.choice(v.HumanOversight.values),
                sourcing=rnd.choice(v.Sourcing.values),
                vendor=text["vendor"],
                hosting=rnd.choice(v.Hosting.values),
                reusable=i % 4 == 0,
                contact_email="ai@example.europa.eu",
                data_sources=["EudraVigilance"] if i % 2 else ["literature"],
            )
        )
        if len(batch) == 2000:
            UseCase.objects.bulk_create(batch)
            batch = []
    UseCase.objects.bulk_create(batch)
    # As autovacuum would have long done on a live node: statistics and the visibility map
    # (index-only scans need it).
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE registry_usecase")
    return time.perf_counter() - started


def start_server(args) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "gunicorn", "config.wsgi:application",
        "--bind", f"127.0.0.1:{args.port}",
        "--workers", str(args.workers),
        "--worker-class", "gthread",
        "--threads", str(args.threads),
        "--timeout", "120",
        "--log-level", "warning",
    ]  # fmt: skip
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", args.port)) == 0:
            raise SystemExit(f"port {args.port} is taken: another server would be measured")
    server = subprocess.Popen(command, cwd=ROOT, env=os.environ.copy(), start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if requests.get(f"{base(args)}/api/v1/agencies/", timeout=10).status_code == 200:
                return server
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.2)
    stop_server(server)
    raise SystemExit("gunicorn did not come up within 60 s")


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)


def base(args) -> str:
    return f"http://127.0.0.1:{args.port}"


def measure(
    urls: list[str], *, total: int, clients: int, warmup: list[str], cpu_pids: list[int]
) -> dict:
    """Fetch urls round-robin from `clients` threads, total requests in all (after each client
    fetched the warm-up urls, kept apart so that distinct urls stay unasked). Also the rate
    and the CPU time the server and PostgreSQL spent per request (cpu_pids: gunicorn's)."""
    counter = itertools.count()
    latencies: list[float] = []
    errors: list[int] = []
    lock = threading.Lock()
    warmed = threading.Barrier(clients + 1, timeout=MAX_SCENARIO_SECONDS)
    deadline = time.monotonic() + MAX_SCENARIO_SECONDS

    def client():
        session = requests.Session()
        for url in warmup:
            session.get(url, timeout=60)
        warmed.wait()
        while time.monotonic() < deadline:
            n = next(counter)
            if n >= total:
                return
            started = time.perf_counter()
            response = session.get(urls[n % len(urls)], timeout=60)
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                if response.status_code != 200:
                    errors.append(response.status_code)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    warmed.wait()
    cpu_before, started = cpu_seconds(cpu_pids + postgres_pids()), time.perf_counter()
    for thread in threads:
        thread.join(timeout=MAX_SCENARIO_SECONDS + 60)
    wall = time.perf_counter() - started
    cpu = cpu_seconds(cpu_pids + postgres_pids()) - cpu_before
    row = summary(latencies, errors)
    row["rate"] = len(latencies) / wall if wall else float("nan")
    row["cpu_ms"] = cpu * 1000 / len(latencies) if latencies else float("nan")
    return row


def postgres_pids() -> list[int]:
    """The local PostgreSQL's processes (the server runs on this machine, as the bench's)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() in {"postgres", "postmaster"}:
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time the processes have used so far (those gone count nothing)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / ticks


def summary(latencies: list[float], errors: list[int]) -> dict:
    ordered = sorted(latencies)
    if not ordered:
        return {"n": 0, "p50": float("nan"), "p95": float("nan"), "errors": len(errors)}
    return {
        "n": len(ordered),
        "p50": statistics.median(ordered) * 1000,
        "p95": ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000,
        "errors": len(errors),
    }


def follow_next(args, pages: int) -> dict:
    """One client walks 50 pages of 200 by `next` (the deep pages get no cheaper than the first)."""
    latencies = []
    url = f"{base(args)}/api/v1/use-cases/?page_size=200"
    session = requests.Session()
    for _ in range(pages):
        started = time.perf_counter()
        body = session.get(url, timeout=60).json()
        latencies.append(time.perf_counter() - started)
        url = body["next"]
        if not url:
            break
    return summary(latencies, [])


def deep_cursors(count: int) -> list[str]:
    """Cursors of the title ordering at random depths in the back half of the public records."""
    from catalogue.selectors import encode_cursor
    from registry.models import UseCase

    public = UseCase.objects.filter(publication_level="public").order_by("title", "pk")
    total = public.count()
    rnd = random.Random(7)
    cursors = []
    for _ in range(count):
        title, pk = public.values_list("title", "pk")[rnd.randrange(total // 2, total - 1)]
        cursors.append(encode_cursor(title, pk, ordering="title"))
    return cursors


def sample_keys(count: int) -> list[tuple[str, str]]:
    from registry.models import UseCase

    rows = UseCase.objects.filter(publication_level="public").order_by("?")[:count]
    return [(row.origin_id, str(row.uid)) for row in rows]


def cold_filter_urls(url: str, count: int, extra: str = "") -> list[str]:
    """Filter combinations never asked before, so each request counts afresh (no cache hit):
    url is a page or endpoint taking the catalogue's filters."""
    combos = itertools.product(
        [code for code, *_ in AGENCIES], ["idea", "pilot", "production", "retired"],
        ["minimal", "limited", "high"], ["nlp", "machine_learning"],
    )  # fmt: skip
    return [
        f"{url}?agency={a}&stage={s}&ai_act_risk={r}&techniques={t}{extra}"
        for a, s, r, t in itertools.islice(combos, count)
    ]


def distinct_words(count: int) -> list[str]:
    """Search words from the records' titles, each asked once (so each search is uncached)."""
    import re

    from registry.models import UseCase

    titles = UseCase.objects.filter(publication_level="public").values_list("title", flat=True)
    words = sorted({w.lower() for t in titles[:20000] for w in re.findall(r"[A-Za-z]{5,}", t)})
    random.Random(11).shuffle(words)
    return words[:count]


def worker_pids(server: subprocess.Popen) -> list[int]:
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children")
    pids = [int(pid) for pid in children.read_text().split()] if children.exists() else []
    return [server.pid, *pids]


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


def export_run(args, server, query: str, fmt: str = "csv") -> dict:
    """Download one export (export.csv or export.xlsx) while sampling every server process's
    RSS every 20 ms; rows counts the CSV's lines (0 for a workbook)."""
    pids = worker_pids(server)
    baseline = max(rss_kib(pid) for pid in pids)
    peak = [baseline]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max([peak[0], *(rss_kib(pid) for pid in pids)])
            done.wait(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.perf_counter()
    size = rows = 0
    with requests.get(f"{base(args)}/api/v1/use-cases/export.{fmt}{query}", stream=True) as r:
        r.raise_for_status()
        for chunk in r.iter_content(chunk_size=65536):
            size += len(chunk)
            rows += chunk.count(b"\n")
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    return {"seconds": elapsed, "mib": size / 2**20, "rows": rows - 1 if fmt == "csv" else 0,
            "baseline": baseline, "peak": peak[0]}  # fmt: skip


def main() -> None:
    args = parse_args()
    static_root = tempfile.mkdtemp(prefix="bench-static-")
    configure(args, static_root)
    if not args.reuse:
        recreate_database(args)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    if args.cache_url:
        from django.core.cache import cache

        cache.clear()  # nothing an earlier run cached may count as computed here
    from registry.models import UseCase

    if args.reuse and UseCase.objects.count() == args.records:
        print(f"reusing {args.records} use cases in {os.environ['DATABASE_URL']}")
    else:
        if UseCase.objects.exists():
            raise SystemExit("the database holds another number of records: run without --reuse")
        seconds = seed(args.records)
        print(f"seeded {args.records} use cases in {seconds:.1f} s on {os.environ['DATABASE_URL']}")
    cursors = deep_cursors(args.requests + 5)
    keys = sample_keys(args.requests + 5)
    words = distinct_words(args.requests)
    server = start_server(args)
    try:
        run_scenarios(args, server, cursors, keys, words)
    finally:
        stop_server(server)


def warm_every_worker(args) -> int:
    """Each gunicorn worker builds its facet index (catalogue/facet_index.py) on the first count
    it makes: ask enough distinct counts at once that every worker has done so before anything
    is measured. With a cache shared by the workers, the cached scenarios would not: one worker
    computes, the others are served, and their builds would land in an uncached scenario."""
    # Distinct dates long past make distinct URLs that count every record (an unknown
    # parameter would be refused: catalogue.filters.check_parameters).
    days = [dt.date(1990, 1, 1) + dt.timedelta(days=i) for i in range(40)]
    urls = [f"{base(args)}/api/v1/facets/?outputs={o}&created_after={day}" for day in days
            for o in ("prediction", "extraction")]  # fmt: skip
    return measure(urls, total=len(urls), clients=args.clients, warmup=[], cpu_pids=[])["n"]


def run_scenarios(args, server, cursors, keys, words) -> None:
    url = base(args)
    warmed = warm_every_worker(args)
    home = requests.get(f"{url}/", timeout=60)
    has_home = home.status_code == 200 and "text/html" in home.headers.get("Content-Type", "")
    n = args.requests
    few_keys, many_keys = keys[:5], keys[5:]
    few_cursors, many_cursors = cursors[:5], cursors[5:]
    # (name, repeated urls: cached, distinct urls: uncached)
    scenarios = [
        ("facets API", [f"{url}/api/v1/facets/"], cold_filter_urls(f"{url}/api/v1/facets/", n)),
        (
            "full-text search API",
            [f"{url}/api/v1/use-cases/?search={q}" for q in SEARCHES],
            [f"{url}/api/v1/use-cases/?search={q}" for q in words],
        ),
        (
            "deep page API (cursor, back half)",
            [f"{url}/api/v1/use-cases/?cursor={c}&page_size=20" for c in few_cursors],
            [f"{url}/api/v1/use-cases/?cursor={c}&page_size=20" for c in many_cursors],
        ),
        (
            "use-case detail API",
            [f"{url}/api/v1/use-cases/{o}/{u}/" for o, u in few_keys],
            [f"{url}/api/v1/use-cases/{o}/{u}/" for o, u in many_keys],
        ),
    ]
    if has_home:
        scenarios = [
            # Another filter than the facets API's below, so the two share no cached counts.
            (
                "home page with facets",
                [f"{url}/"],
                cold_filter_urls(f"{url}/", n, extra="&medicine_scope=human"),
            ),
            (
                "search page (/?search=)",
                [f"{url}/?search={q}" for q in SEARCHES],
                [f"{url}/?search={q}" for q in words],
            ),
            (
                "use-case page",
                [f"{url}/use-cases/{o}/{u}/" for o, u in few_keys],
                [f"{url}/use-cases/{o}/{u}/" for o, u in many_keys],
            ),
            *scenarios,
        ]
    else:
        print(f"no HTML home page at / (status {home.status_code}): measuring the API only")
    if args.only:
        scenarios = [s for s in scenarios if any(part in s[0] for part in args.only)]
    print(
        f"\n{args.clients} concurrent clients, {n} requests per scenario, gunicorn "
        f"{args.workers} workers x {args.threads} threads, {args.records} records; response "
        f"cache {os.environ.get('CATALOGUE_CACHE_SECONDS', '30')} s, CACHE_URL "
        f"{os.environ.get('CACHE_URL', 'locmem:// (per worker)')}"
    )
    print("cached = a few URLs repeated; uncached = a URL never asked before on every request")
    print(f"warm-up: {warmed} distinct facet counts asked first, so every worker builds its index")
    print(f"machine load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("req/s: requests answered per second; CPU ms: server and PostgreSQL CPU per request")
    print(
        f"{'scenario':56} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'errors':>6} {'req/s':>6} "
        f"{'CPU ms':>6}"
    )
    for name, repeated, distinct in scenarios:
        for label, urls in (("cached", repeated), (f"uncached, {len(distinct)} URLs", distinct)):
            row = measure(
                urls,
                total=n,
                clients=args.clients,
                warmup=repeated[:2],
                cpu_pids=worker_pids(server),
            )
            print(
                f"{name + ' [' + label + ']':56} {row['n']:5d} {row['p50']:8.1f} "
                f"{row['p95']:8.1f} {row['errors']:6d} {row['rate']:6.0f} {row['cpu_ms']:6.1f}"
            )
    print(f"machine load average after: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if args.only and not any(part in "follow next, CSV export, XLSX export" for part in args.only):
        return
    if not args.only or any(part in "follow next" for part in args.only):
        row = follow_next(args, pages=50)
        print(f"{'follow next x50, 200/page (1 client)':56} {row['n']:5d} {row['p50']:8.1f} "
              f"{row['p95']:8.1f} {row['errors']:6d}")  # fmt: skip
    exports = [
        (fmt, f"{fmt.upper()} export, {label}", query)
        for fmt in ("csv", "xlsx")
        for label, query in (("all public", ""), ("one agency", "?agency=EMA"))
    ]
    for fmt, label, query in exports:
        if args.only and not any(part in label for part in args.only):
            continue
        e = export_run(args, server, query, fmt=fmt)
        lines = f"{e['rows']} lines, " if fmt == "csv" else ""
        print(
            f"{label}: {lines}{e['mib']:.1f} MiB in {e['seconds']:.2f} s; server "
            f"RSS before {e['baseline'] / 1024:.0f} MiB, peak {e['peak'] / 1024:.0f} MiB"
        )


if __name__ == "__main__":
    main()
