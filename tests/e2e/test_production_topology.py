"""The README's production topology without Docker: `scripts/federation.py --postgres URL --redis
URL` runs the same hub and two agencies on PostgreSQL (a database per node) and Redis, behind
gunicorn with debug off, over HTTPS by default (a certificate from the run's test CA, which the
nodes verify each other against, and so does this test). It carries a record across, serves the
hashed static files with HSTS and secure cookies, passes `check --deploy`, and answers an unknown
page with a plain 404. Runs when the suite runs on PostgreSQL and Redis."""

import os
import re
import signal
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest

from federation import probe
from federation.launcher import Node
from federation.topology import AGENCIES, HUB, Backend, load_nodes
from tests.e2e.helpers import act, key, wait_until
from tests.e2e.test_one_command import launched

DATABASE_URL = os.environ.get("DATABASE_URL", "")
BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        not (DATABASE_URL.startswith("postgres") and BROKER_URL.startswith("redis")),
        reason="the production topology runs when DATABASE_URL is on PostgreSQL and "
        "CELERY_BROKER_URL on Redis",
    ),
]
# The suite's shared federation holds the broker's database number and the next two while this
# runs; the launcher takes six from here (three brokers, three caches).
REDIS_SHIFT = 3


def test_production_topology_carries_a_record_serves_static_files_and_hides_errors(tmp_path):
    server = urllib.parse.urlsplit(DATABASE_URL)._replace(path="").geturl()
    parts = urllib.parse.urlsplit(BROKER_URL)
    redis_url = parts._replace(path=f"/{int(parts.path.strip('/') or 0) + REDIS_SHIFT}").geturl()
    backend = Backend(
        postgres_url=server, redis_url=redis_url, db_prefix=f"e2e_{uuid.uuid4().hex[:8]}"
    )
    backend.flush_brokers(6)  # the three brokers' numbers and the three caches'
    run_dir = tmp_path / "run"
    options = ["--base-port", "0", "--postgres", server, "--redis", redis_url]
    options += ["--db-prefix", backend.db_prefix, "--no-inventories", "--interval", "2"]
    try:
        with launched(tmp_path, *options, "--run-dir", str(run_dir)) as launch:
            nodes = load_nodes(run_dir)
            ema, bfarm = nodes["EMA"], nodes["DE-BFARM"]
            assert ema.config.production and ema.config.database_url.startswith("postgres")
            assert all(node.url.startswith("https://") for node in nodes.values())
            assert ema.config.hub_url.startswith("https://"), "the sync client speaks HTTPS"
            uid = act(ema, "create", count=1, level="network", title="From EMA to BfArM")[0]
            wait_until(
                lambda: key(ema, uid) in probe.use_cases(bfarm),
                timeout=90,
                what="the record to reach DE-BFARM through the hub",
            )

            with get(bfarm, "/admin/login/") as answer:
                login_page = answer.read().decode()
                assert "max-age=31536000" in answer.headers["Strict-Transport-Security"]
                cookies = answer.headers.get_all("Set-Cookie") or []
                assert cookies and all("Secure" in cookie for cookie in cookies), cookies
            with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
                urllib.request.urlopen(bfarm.url, timeout=10)  # the test CA is no public one
            deploy = ("check", "--deploy", "--tag", "security", "--fail-level", "WARNING")
            assert "no issues" in bfarm.manage(*deploy), "DEBUG=0 and the HTTPS settings"
            stylesheet = re.search(
                r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', login_page
            )
            assert stylesheet, "the admin links its stylesheet by a hashed name"
            with get(bfarm, stylesheet[1]) as answer:
                assert answer.status == 200
                assert answer.headers["Content-Type"].startswith("text/css")
                assert "immutable" in answer.headers["Cache-Control"]

            with pytest.raises(urllib.error.HTTPError) as missing:
                get(bfarm, f"/no-such-page-{uuid.uuid4().hex}/")
            assert missing.value.code == 404
            body = missing.value.read().decode(errors="replace")
            assert "DEBUG = True" not in body and "URLconf" not in body

            launch.process.send_signal(signal.SIGINT)
            assert launch.process.wait(timeout=90) == 0, launch.text()
            assert launch.left_behind() == []
    finally:
        backend.drop_databases([HUB, *AGENCIES])
        backend.flush_brokers(6)


def get(node: Node, path: str):
    """GET over HTTPS, trusting the run's test CA (tls/ca.pem), as the nodes do."""
    return urllib.request.urlopen(node.url + path, timeout=10, context=node.ssl_context())
