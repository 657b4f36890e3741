import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

import federation.__main__ as main
from federation import processes
from federation.launcher import NodeError
from federation.probe import PeerState
from federation.topology import RUN_MARKER, Backend, Federation
from sync.models import Peer


class FakeNode:
    class config:
        agency = "EMA"
        role = "agency"


class FakeFederation:
    nodes = {"EMA": FakeNode()}


def test_ctrl_c_during_a_progress_probe_is_not_swallowed(monkeypatch):
    """The probe tolerates any error of a busy database, but never the stop signal."""

    def interrupted(node):
        raise main.Stop()

    monkeypatch.setattr(main.probe, "counts", interrupted)
    with pytest.raises(main.Stop):
        main.progress_line(FakeFederation())


def test_a_failing_probe_is_shown_and_watching_goes_on(monkeypatch):
    def locked(node):
        raise RuntimeError("database is locked")

    monkeypatch.setattr(main.probe, "counts", locked)
    assert "EMA: (RuntimeError)" in main.progress_line(FakeFederation())


COUNTS = {"own": 3, "own_shared": 2, "received": 0, "feed": 2, "tombstones": 0}


def test_progress_shows_why_an_agency_cannot_sync_with_the_hub(monkeypatch):
    monkeypatch.setattr(main.probe, "counts", lambda node: COUNTS)
    monkeypatch.setattr(
        main.probe, "hub_peer", lambda node: PeerState(True, "HTTP 401: bad token\ntrace", 1)
    )
    assert "hub refused the token (sync stopped): HTTP 401: bad token" in (
        main.progress_line(FakeFederation())
    )
    monkeypatch.setattr(
        main.probe, "hub_peer", lambda node: PeerState(False, "connection refused", 4)
    )
    assert "hub sync failing (4 in a row): connection refused" in (
        main.progress_line(FakeFederation())
    )


def test_progress_says_nothing_of_a_healthy_hub_peer(monkeypatch):
    monkeypatch.setattr(main.probe, "counts", lambda node: COUNTS)
    monkeypatch.setattr(main.probe, "hub_peer", lambda node: PeerState(False, "", 0))
    assert "hub" not in main.progress_line(FakeFederation())


def test_the_probe_reads_the_hub_peer_row_that_sync_keeps(tmp_path):
    """probe.hub_peer reads sync_peer without Django: the columns it names are Peer's."""
    assert Peer._meta.db_table == "sync_peer"
    assert {"name", "auth_failed", "last_error", "consecutive_failures"} <= {
        f.column for f in Peer._meta.fields
    }
    node = SimpleNamespace(config=SimpleNamespace(database_url="", data_dir=tmp_path))
    with sqlite3.connect(tmp_path / "registry.sqlite3") as db:
        db.execute("CREATE TABLE sync_peer (name, auth_failed, last_error, consecutive_failures)")
    assert main.probe.hub_peer(node) is None
    with sqlite3.connect(tmp_path / "registry.sqlite3") as db:
        db.execute("INSERT INTO sync_peer VALUES ('hub', 1, 'HTTP 403', 2)")
    assert main.probe.hub_peer(node) == PeerState(True, "HTTP 403", 2)


def test_a_closed_terminal_stops_the_federation_like_ctrl_c():
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        main._on_signals(main._raise_stop)
        with pytest.raises(main.Stop):
            os.kill(os.getpid(), signal.SIGHUP)
        # The clean-up that follows is not interrupted by another signal.
        assert signal.getsignal(signal.SIGTERM) == signal.SIG_IGN
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


class RecordingNode:
    def __init__(self, agency, calls):
        self.config = SimpleNamespace(agency=agency, port=1, role="agency")
        self.calls = calls

    def ensure_agencies(self):
        self.calls.append((self.config.agency, "ensure_agencies"))

    def ensure_superuser(self):
        self.calls.append((self.config.agency, "ensure_superuser"))

    def manage(self, *args):
        self.calls.append((self.config.agency, args[0]))
        return "Imported 1 use case\n"


class RecordingFederation:
    def __init__(self, calls):
        self.run_dir = Path("/nowhere")
        self.nodes = {code: RecordingNode(code, calls) for code in ("EMA", "DE-BFARM")}

    def stop_leftovers(self):
        return []

    def prepare(self):
        pass

    def write_state(self):
        pass

    def start(self):
        pass


def test_without_seeding_the_agencies_exist_before_the_inventories_are_imported(
    monkeypatch, tmp_path
):
    """import_inventory refuses an unknown agency, and the admin cannot add a use case without
    one: --no-seed skips the demo records and logins, never the agencies."""
    for _, filename in main.INVENTORIES.values():
        (tmp_path / filename).write_text("")
    monkeypatch.setattr(main.processes, "port_in_use", lambda port: False)
    calls = []
    args = main.parse_args(["--no-seed", "--data", str(tmp_path)])
    main.set_up(RecordingFederation(calls), args)
    for agency in ("EMA", "DE-BFARM"):
        mine = [what for code, what in calls if code == agency]
        assert mine == ["ensure_agencies", "ensure_superuser", "import_inventory"]


def test_production_caches_never_share_a_redis_database_with_a_broker(tmp_path):
    backend = Backend(postgres_url="postgres://pg/x", redis_url="redis://r:6379/10")
    nodes = Federation(run_dir=tmp_path, backend=backend, production=True).nodes.values()
    brokers = [node.config.broker_url for node in nodes]
    caches = [node.config.cache_url for node in nodes]
    assert brokers == [f"redis://r:6379/{n}" for n in (10, 11, 12)]
    assert caches == [f"redis://r:6379/{n}" for n in (13, 14, 15)]
    assert all(
        "CACHE_URL" not in node.environment()
        for node in Federation(run_dir=tmp_path, backend=backend).nodes.values()
    )


def test_production_nodes_keep_their_database_connections(tmp_path):
    backend = Backend(postgres_url="postgres://pg/x", redis_url="redis://r:6379/1")
    production = Federation(run_dir=tmp_path, backend=backend, production=True).nodes.values()
    assert all(node.environment()["DB_CONN_MAX_AGE"] == "60" for node in production)
    demo = Federation(run_dir=tmp_path).nodes.values()
    assert all("DB_CONN_MAX_AGE" not in node.environment() for node in demo)


def sleeper(tmp_path: Path, *, env: dict[str, str], note: str = "") -> subprocess.Popen:
    return processes.start(
        [sys.executable, "-c", "import time; time.sleep(60)", note],
        env=env,
        cwd=tmp_path,
        log_path=tmp_path / "sleeper.log",
    )


def test_the_next_start_stops_the_groups_a_killed_launcher_left_and_nothing_else(tmp_path):
    federation = Federation(run_dir=tmp_path)
    ours = sleeper(tmp_path, env={**os.environ, RUN_MARKER: str(tmp_path.resolve())})
    # A listed group id now used by someone else (no marker, or another run dir's).
    theirs = sleeper(tmp_path, env={**os.environ, RUN_MARKER: str(tmp_path / "other")})
    try:
        for process in (ours, theirs):
            processes.record_group(federation.pidfile, process.pid)
        assert federation.stop_leftovers() == [ours.pid]
        assert ours.wait(timeout=15) is not None
        assert theirs.poll() is None
    finally:
        processes.stop(ours, theirs)


def test_a_run_dir_whose_launcher_still_runs_is_not_taken_over(tmp_path):
    federation = Federation(run_dir=tmp_path)
    launcher = sleeper(tmp_path, env=dict(os.environ), note="federation")
    try:
        federation.pidfile.write_text(f"launcher {launcher.pid}\n")
        with pytest.raises(NodeError, match=f"pid {launcher.pid}"):
            federation.stop_leftovers()
    finally:
        processes.stop(launcher)
    assert federation.stop_leftovers() == []
    assert federation.pidfile.read_text() == f"launcher {os.getpid()}\n"


def _bootstrap(tmp_path, monkeypatch):
    """scripts/federation.py, loaded as a module with its .venv under tmp_path."""
    import importlib.util

    script = Path(__file__).resolve().parent.parent / "scripts" / "federation.py"
    spec = importlib.util.spec_from_file_location("federation_bootstrap_test", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "VENV", tmp_path / ".venv")
    monkeypatch.setattr(module, "PYTHON", tmp_path / ".venv" / "bin" / "python")
    return module


def test_a_venv_that_cannot_get_pip_is_removed_with_a_hint(tmp_path, monkeypatch):
    bootstrap = _bootstrap(tmp_path, monkeypatch)
    half_made = tmp_path / ".venv" / "bin"
    half_made.mkdir(parents=True)
    (half_made / "python").write_text("")  # what venv leaves when ensurepip is missing

    def no_ensurepip(builder, env_dir):
        raise subprocess.CalledProcessError(1, ["python", "-m", "ensurepip"])

    monkeypatch.setattr(bootstrap.venv.EnvBuilder, "create", no_ensurepip)
    monkeypatch.setattr(bootstrap.sys, "argv", ["federation.py"])
    with pytest.raises(SystemExit, match="install the python3-venv package"):
        bootstrap.main()
    assert not (tmp_path / ".venv").exists()
