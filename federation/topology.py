"""A hub and its agencies, wired together: ports, data dirs, databases, brokers and peer tokens.

Embedded default: each node has a SQLite file and a filesystem broker folder under its data dir.
With a PostgreSQL server URL and a Redis URL, each node gets a database of its own (created here)
and a Redis database number of its own for its broker (the given one, then the next ones); in
production mode also one for its cache (the numbers after the brokers'), never shared with a
broker: clearing a cache empties its whole database.
"""

import dataclasses
import json
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from federation import processes
from federation.launcher import Node, NodeConfig, NodeError

HUB = "EMRN-HUB"
STATE_FILE = "federation.json"
PIDFILE = "processes.pid"
# Every process of a federation carries RUN_MARKER=<its run dir> in its environment.
RUN_MARKER = "FEDERATION_RUN_DIR"
AGENCIES = ("EMA", "DE-BFARM")


@dataclass(frozen=True)
class Backend:
    postgres_url: str = ""  # any database on the server; nodes get their own next to it
    redis_url: str = ""  # redis://host:port/N: node i uses database N + i
    db_prefix: str = "federation"

    @property
    def embedded(self) -> bool:
        return not self.postgres_url

    def database_name(self, agency: str) -> str:
        return f"{self.db_prefix}_{re.sub(r'[^a-z0-9]', '_', agency.lower())}"

    def database_url(self, agency: str) -> str:
        if not self.postgres_url:
            return ""
        parts = urllib.parse.urlsplit(self.postgres_url)
        return parts._replace(path="/" + self.database_name(agency)).geturl()

    def broker_url(self, index: int) -> str:
        return self.redis_database(index)

    def redis_database(self, offset: int) -> str:
        """The Redis URL with database number N + offset."""
        if not self.redis_url:
            return ""
        parts = urllib.parse.urlsplit(self.redis_url)
        base = int(parts.path.strip("/") or 0)
        return parts._replace(path=f"/{base + offset}").geturl()

    def create_databases(self, agencies: list[str], *, fresh: bool) -> None:
        """Create each node's database (dropping it first when `fresh`)."""
        for agency in agencies:
            name = self.database_name(agency)
            with self._admin_connection() as conn:
                if fresh:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                exists = conn.execute(
                    "SELECT 1 FROM pg_database WHERE datname = %s", [name]
                ).fetchone()
                if not exists:
                    conn.execute(f'CREATE DATABASE "{name}"')

    def drop_databases(self, agencies: list[str]) -> None:
        with self._admin_connection() as conn:
            for agency in agencies:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.database_name(agency)}" WITH (FORCE)')

    def flush_brokers(self, count: int) -> None:
        """Empty the nodes' Redis databases: stale tasks of an earlier run must not leak in."""
        import redis

        for index in range(count):
            redis.Redis.from_url(self.broker_url(index)).flushdb()

    def _admin_connection(self):
        import psycopg

        parts = urllib.parse.urlsplit(self.postgres_url)
        return psycopg.connect(parts._replace(path="/postgres").geturl(), autocommit=True)


class Federation:
    """A hub and agency nodes (a test may point an agency's hub_url at a proxy before start)."""

    def __init__(
        self,
        *,
        run_dir: Path,
        hub: str = HUB,
        agencies: tuple[str, ...] = AGENCIES,
        base_port: int = 0,
        interval: int = 10,
        backend: Backend = Backend(),
        production: bool = False,
        tls: bool = False,
        extra_env: dict[str, str] | None = None,
    ):
        self.run_dir = Path(run_dir)
        self.backend = backend
        self.pidfile = self.run_dir / PIDFILE
        self._claim: IO | None = None  # the pidfile, locked while this launcher owns the run dir
        self.marker = f"{RUN_MARKER}={self.run_dir.resolve()}"
        extra_env = {RUN_MARKER: str(self.run_dir.resolve()), **(extra_env or {})}
        codes = [hub, *agencies]
        ports = [base_port + i if base_port else processes.free_port() for i in range(len(codes))]
        certificate = test_certificate(self.run_dir / "tls") if tls else {}
        self.nodes: dict[str, Node] = {}
        for index, (code, port) in enumerate(zip(codes, ports, strict=True)):
            self.nodes[code] = Node(
                NodeConfig(
                    agency=code,
                    role="hub" if code == hub else "agency",
                    data_dir=self.run_dir / code.lower(),
                    port=port,
                    database_url=backend.database_url(code),
                    broker_url=backend.broker_url(index),
                    cache_url=backend.redis_database(len(codes) + index) if production else "",
                    sync_interval=interval,
                    production=production,
                    extra_env=dict(extra_env),
                    **certificate,
                ),
                pidfile=self.pidfile,
            )
        self.hub = self.nodes[hub]
        self.agencies = [self.nodes[code] for code in agencies]
        for node in self.agencies:
            node.config.hub_url = self.hub.url

    def prepare(self, *, fresh_databases: bool = False) -> None:
        """Databases, migrations, and a hub token for every agency."""
        if not self.backend.embedded:
            self.backend.create_databases(list(self.nodes), fresh=fresh_databases)
        if self.backend.redis_url and fresh_databases:
            self.backend.flush_brokers(len(self.nodes))
        for node in self.nodes.values():
            node.prepare()
        for node in self.agencies:
            node.config.hub_token = self.hub.issue_peer_token(node.config.agency)

    def stop_leftovers(self) -> list[int]:
        """Claim the run dir, and stop the process groups that an earlier launcher of it left
        running (killed before it could stop them); the groups stopped. Refuses while that
        launcher is still running. What a failed start left (its state file, its pidfile, kept
        secrets, a database it was migrating) never blocks this one."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        claim = processes.lock_pidfile(self.pidfile)
        if claim is None:
            raise NodeError(
                f"a federation launcher (pid {processes.recorded_launcher(self.pidfile)}) is "
                f"running in {self.run_dir}: stop it first, or give another --run-dir"
            )
        self._claim = claim
        stopped = processes.stop_recorded_groups(self.pidfile, self.marker)
        processes.claim_pidfile(self.pidfile)
        # The nodes of a start that failed are not this run's: write_state says when they are.
        (self.run_dir / STATE_FILE).unlink(missing_ok=True)
        return stopped

    def start(self) -> None:
        """Start every node (the hub first), then wait until all of them answer."""
        try:
            for node in self.nodes.values():
                node.start(wait=False)
            for node in self.nodes.values():
                node.wait_ready()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop every process of every node, all at once."""
        processes.stop(*[p for node in self.nodes.values() for p in node.detach_processes()])
        # Never another launcher's pidfile: a start refused for it stops too.
        processes.release_pidfile(self.pidfile, self._claim)
        self._claim = None

    def drop_databases(self) -> None:
        if not self.backend.embedded:
            self.backend.drop_databases(list(self.nodes))

    def write_state(self) -> None:
        """The nodes' addresses and data dirs (never tokens) in run_dir/federation.json, for
        scripts and tests that look inside a running federation (see load_nodes)."""
        state = {}
        for code, node in self.nodes.items():
            config = dataclasses.asdict(node.config)
            config.update(data_dir=str(node.config.data_dir), hub_token="", extra_env={})
            state[code] = config
        (self.run_dir / STATE_FILE).write_text(json.dumps(state, indent=2))


def test_certificate(folder: Path) -> dict[str, str]:
    """A local test CA (trustme) and one server certificate for 127.0.0.1 and localhost, written
    under `folder` (made once, kept across restarts); the NodeConfig fields that use them. Every
    node serves it and verifies its peers against the CA: the production topology on loopback
    speaks HTTPS as a real deployment does, with no public CA involved."""
    paths = {"ca_bundle": folder / "ca.pem", "certfile": folder / "node.pem",
             "keyfile": folder / "node-key.pem"}  # fmt: skip
    if not all(path.exists() for path in paths.values()):
        import trustme  # only the HTTPS mode needs it

        folder.mkdir(parents=True, exist_ok=True)
        ca = trustme.CA(organization_name="EMRN federation test CA")
        leaf = ca.issue_cert("127.0.0.1", "localhost")
        leaf.private_key_pem.write_to_path(str(paths["keyfile"]))
        paths["keyfile"].chmod(0o600)
        leaf.cert_chain_pems[0].write_to_path(str(paths["certfile"]))
        for blob in leaf.cert_chain_pems[1:]:
            blob.write_to_path(str(paths["certfile"]), append=True)
        ca.cert_pem.write_to_path(str(paths["ca_bundle"]))
    return {name: str(path) for name, path in paths.items()}


def load_nodes(run_dir: Path) -> dict[str, Node]:
    """The nodes of a federation started elsewhere (by `python -m federation`)."""
    state = json.loads((Path(run_dir) / STATE_FILE).read_text())
    return {
        code: Node(NodeConfig(**{**config, "data_dir": Path(config["data_dir"])}))
        for code, config in state.items()
    }
