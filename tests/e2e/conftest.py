"""Real processes for the end-to-end tests: a hub and two agencies (EMA = A, DE-BFARM = B), each
with its own web server, Celery worker and beat, its own database and broker, on 127.0.0.1.

Embedded default: a SQLite file and a filesystem broker per node. With DATABASE_URL on PostgreSQL
and CELERY_BROKER_URL on Redis, each node gets a fresh database e2e_<run>_<node> (dropped at the
end) and its own Redis database number (the given one, then the next two).

The Redis database numbers of CELERY_BROKER_URL (N) the e2e suite uses, never more than N..N+8;
the shared federation and the faults federation live for the whole session, everything else runs
one module after another:
- N..N+2: the shared federation (`network`: hub, EMA, DE-BFARM brokers), session-long.
- N+3..N+5: the single-module federations (test_worker_crash, test_push_soon, test_two_workers,
  test_restore_e2e: broker_shift=3) and the single nodes (test_notices_e2e, test_webhooks_e2e,
  test_sso_browser, test_tls_e2e: SINGLE_NODE_BROKER_SHIFT, N+3 only). Each flushes its numbers
  when it starts.
- N+3..N+8: test_production_topology (REDIS_SHIFT=3: three brokers, three caches), flushed at its
  start and end.
- The faults federation (`faults_network`, session-long) takes none: agency A runs on a
  redis-server of its own (`faults_redis`, which test_redis_down stops), the hub and DE-BFARM on
  another (`faults_peers_redis`) when the suite runs on Redis, else on the filesystem broker.

A reaches the hub through tests/e2e/proxy.py, the one place where faults are injected.
"""

import dataclasses
import os
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from federation import processes
from federation.launcher import Node, NodeConfig
from federation.topology import Backend, Federation
from tests.e2e.helpers import act
from tests.e2e.proxy import FaultProxy
from tests.e2e.redis_server import RedisServer

INTERVAL_SECONDS = 2
HTTP_TIMEOUT_SECONDS = 3
BATCH_SIZE = 10


def backend_from_environment(run: str, *, broker_shift: int = 0) -> Backend:
    """Databases e2e_<run>_<node>; Redis databases from CELERY_BROKER_URL's number plus
    `broker_shift`, so that two federations running at once never share a queue."""
    database_url = os.environ.get("DATABASE_URL", "")
    broker_url = os.environ.get("CELERY_BROKER_URL", "")
    if not database_url.startswith("postgres"):
        return Backend()
    if broker_url.startswith("redis"):
        parts = urllib.parse.urlsplit(broker_url)
        number = int(parts.path.strip("/") or 0) + broker_shift
        broker_url = parts._replace(path=f"/{number}").geturl()
    else:
        broker_url = ""
    return Backend(postgres_url=database_url, redis_url=broker_url, db_prefix=f"e2e_{run}")


@dataclass
class Network:
    federation: Federation
    proxy: FaultProxy


@contextmanager
def running_network(
    run_dir: Path,
    marker: str,
    *,
    broker_shift: int = 0,
    interval: int = INTERVAL_SECONDS,
    extra_env: dict[str, str] | None = None,
    configure: Callable[[Federation], None] | None = None,
) -> Iterator[Network]:
    """Start a hub and two agencies (A through the fault proxy); stop and drop them after.
    `extra_env` goes to every node's processes (e.g. other page sizes); `configure` may change
    the nodes' configuration before they are prepared (e.g. A's broker and cache)."""
    name, value = marker.split("=")
    federation = Federation(
        run_dir=run_dir,
        base_port=0,
        interval=interval,
        backend=backend_from_environment(uuid.uuid4().hex[:8], broker_shift=broker_shift),
        extra_env={
            name: value,
            "SYNC_HTTP_TIMEOUT_SECONDS": str(HTTP_TIMEOUT_SECONDS),
            "SYNC_PUSH_BATCH_SIZE": str(BATCH_SIZE),
            "SYNC_PULL_PAGE_SIZE": str(BATCH_SIZE),
            **(extra_env or {}),
        },
    )
    proxy = FaultProxy(federation.hub.config.port).start()
    federation.nodes["EMA"].config.hub_url = proxy.url
    if configure is not None:
        configure(federation)
    try:
        federation.prepare(fresh_databases=True)
        for node in federation.nodes.values():
            act(node, "ensure_agencies")
        federation.start()
        yield Network(federation, proxy)
    finally:
        federation.stop()
        proxy.close()
        federation.drop_databases()
    assert processes.pids_with_marker(marker) == [], "processes left behind"


@pytest.fixture(scope="session")
def marker() -> str:
    """Every process the e2e suite starts carries this in its environment."""
    return f"AR_E2E_RUN={uuid.uuid4().hex}"


@pytest.fixture(scope="session")
def network(tmp_path_factory, marker):
    """The federation most tests share; A (EMA) pushes and pulls through the proxy."""
    with running_network(tmp_path_factory.mktemp("federation"), marker) as network:
        yield network


@pytest.fixture
def hub(network):
    return network.federation.hub


@pytest.fixture
def agency_a(network):
    return network.federation.nodes["EMA"]


@pytest.fixture
def agency_b(network):
    return network.federation.nodes["DE-BFARM"]


@pytest.fixture
def proxy(network):
    network.proxy.disarm()
    yield network.proxy
    network.proxy.disarm()


# The fault scenarios of issue 14 (a restored hub, Redis down, clocks that disagree, a large
# backlog) share one federation, started by the first of them and kept to the end of the session,
# beside the shared one and the single-module ones. It holds no number of the shared Redis (which
# test_production_topology flushes): agency A runs on a Redis server of its own (broker and
# cache), which a test may stop; the hub and B on another one when the suite runs on Redis. Pages
# are of 50 records.
FAULTS_PAGE = 50


@pytest.fixture(scope="session")
def faults_redis(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("faults-redis") / "redis.log").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def faults_peers_redis(tmp_path_factory) -> Iterator[RedisServer | None]:
    """The hub's and B's broker in the faults federation, when the suite runs on Redis."""
    if not os.environ.get("CELERY_BROKER_URL", "").startswith("redis"):
        yield None
        return
    server = RedisServer(tmp_path_factory.mktemp("faults-peers-redis") / "redis.log").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def faults_network(tmp_path_factory, marker, faults_redis, faults_peers_redis):
    def on_own_redis(federation: Federation) -> None:
        agency_a = federation.nodes["EMA"].config
        agency_a.broker_url, agency_a.cache_url = faults_redis.url(0), faults_redis.url(1)
        if faults_peers_redis is not None:
            federation.hub.config.broker_url = faults_peers_redis.url(0)
            federation.nodes["DE-BFARM"].config.broker_url = faults_peers_redis.url(1)
        # Nothing of the shared Redis to flush at prepare: the servers above start empty.
        federation.backend = dataclasses.replace(federation.backend, redis_url="")

    pages = {"SYNC_PUSH_BATCH_SIZE": str(FAULTS_PAGE), "SYNC_PULL_PAGE_SIZE": str(FAULTS_PAGE)}
    # A marker of its own name: the shared federation, which may stop first, looks for its own
    # marker as a substring of every process's environment.
    own_marker = "AR_E2E_FAULTS_RUN=" + marker.split("=", 1)[1]
    with running_network(
        tmp_path_factory.mktemp("faults"),
        own_marker,
        extra_env=pages,
        configure=on_own_redis,
    ) as network:
        yield network


# The single-node modules (notices, webhooks) take the Redis numbers of the single-module
# federations, which never run at the same time.
SINGLE_NODE_BROKER_SHIFT = 3


@contextmanager
def single_agency_node(data_dir: Path, marker: str, extra_env: dict[str, str]) -> Iterator:
    """One agency node of its own (EMA, migrated, agencies created, nothing started): the test
    starts the processes it needs; all of them are stopped and its database dropped after."""
    name, value = marker.split("=")
    backend = backend_from_environment(uuid.uuid4().hex[:8], broker_shift=SINGLE_NODE_BROKER_SHIFT)
    node = Node(
        NodeConfig(
            agency="EMA",
            role="agency",
            data_dir=data_dir,
            port=processes.free_port(),
            database_url=backend.database_url("EMA"),
            broker_url=backend.broker_url(0),
            extra_env={name: value, **extra_env},
        )
    )
    if not backend.embedded:
        backend.create_databases(["EMA"], fresh=True)
    if backend.redis_url:
        backend.flush_brokers(1)
    try:
        node.prepare()
        node.ensure_agencies()
        yield node
    finally:
        node.stop()
        if not backend.embedded:
            backend.drop_databases(["EMA"])
    assert processes.pids_with_marker(marker) == [], "processes left behind"
