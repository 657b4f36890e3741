import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.management import get_commands, load_command_class

import federation.__main__ as main
from federation import processes
from federation.launcher import NodeError
from federation.probe import PeerState
from federation.topology import RUN_MARKER, STATE_FILE, Backend, Federation
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
    def __init__(self, agency, calls, commands=None, role="agency"):
        self.config = SimpleNamespace(agency=agency, port=1, role=role)
        self.calls = calls
        self.commands = [] if commands is None else commands

    def admin_password(self):
        return DASHED

    def ensure_agencies(self):
        self.calls.append((self.config.agency, "ensure_agencies"))

    def ensure_superuser(self):
        self.calls.append((self.config.agency, "ensure_superuser"))

    def manage(self, *args):
        self.calls.append((self.config.agency, args[0]))
        self.commands.append(args)
        return "Imported 1 use case\n"


class RecordingFederation:
    def __init__(self, calls, commands=None):
        self.run_dir = Path("/nowhere")
        self.nodes = {"EMRN-HUB": RecordingNode("EMRN-HUB", calls, commands, role="hub")}
        self.nodes |= {code: RecordingNode(code, calls, commands) for code in ("EMA", "DE-BFARM")}

    def stop_leftovers(self):
        return []

    def prepare(self):
        pass

    def write_state(self):
        pass

    def start(self):
        pass


def test_without_seeding_the_agencies_exist_and_only_the_hub_imports_the_reference_registers(
    monkeypatch, tmp_path
):
    """The admin cannot add a use case without its agency: --no-seed skips the demo records and
    logins, never the agencies. The US and Dutch files are reference registers: the hub imports
    them, no agency imports them as its own."""
    for filename in main.REFERENCE_REGISTERS.values():
        (tmp_path / filename).write_text("")
    monkeypatch.setattr(main.processes, "port_in_use", lambda port: False)
    calls = []
    args = main.parse_args(["--no-seed", "--data", str(tmp_path)])
    main.set_up(RecordingFederation(calls), args)
    for agency in ("EMA", "DE-BFARM"):
        mine = [what for code, what in calls if code == agency]
        assert mine == ["ensure_agencies", "ensure_superuser"]
    hub = [what for code, what in calls if code == "EMRN-HUB"]
    assert hub == ["ensure_agencies", "ensure_superuser", *["import_reference_register"] * 2]


# What secrets.token_urlsafe gives one time in 64: a password that looks like an option.
DASHED = "-Zq3vN8xLk2Pw7Rt"


def parsed_by_the_command(args: tuple[str, ...]) -> dict:
    """The options `manage.py *args` hands its command, parsed by that command's own parser."""
    name, *rest = args
    command = load_command_class(get_commands()[name], name)
    return vars(command.create_parser("manage.py", name).parse_args(rest))


def test_a_password_beginning_with_a_dash_reaches_seed_demo_whole(monkeypatch, tmp_path):
    for filename in main.REFERENCE_REGISTERS.values():
        (tmp_path / filename).write_text("")
    monkeypatch.setattr(main.processes, "port_in_use", lambda port: False)
    commands = []
    main.set_up(RecordingFederation([], commands), main.parse_args(["--data", str(tmp_path)]))
    seeds = [parsed_by_the_command(args) for args in commands if args[0] == "seed_demo"]
    assert [options["password"] for options in seeds] == [DASHED, DASHED, DASHED]
    imports = [
        parsed_by_the_command(args) for args in commands if args[0] == "import_reference_register"
    ]
    assert {(o["register"], o["file"]) for o in imports} == {
        (register, tmp_path / filename) for register, filename in main.REFERENCE_REGISTERS.items()
    }


def test_a_kept_admin_password_beginning_with_a_dash_no_longer_breaks_a_start(
    monkeypatch, tmp_path
):
    """A real start of one node (migrate, seed_demo) in a run dir whose kept password is one."""
    federation = Federation(run_dir=tmp_path, agencies=())
    node = federation.hub
    node.config.data_dir.mkdir(parents=True)
    (node.config.data_dir / "admin_password").write_text(DASHED)
    monkeypatch.setattr(federation, "start", lambda: None)  # no web, worker or beat: seconds
    args = main.parse_args(["--base-port=0", "--no-inventories", f"--run-dir={tmp_path}"])
    try:
        main.set_up(federation, args)
        assert node.admin_password() == DASHED
        login = node.shell(
            "from django.contrib.auth import authenticate\n"
            f"print(authenticate(username='admin', password={DASHED!r}) is not None)"
        )
        assert login.strip().splitlines()[-1] == "True"
    finally:
        federation.stop()


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


def holding_the_claim(tmp_path: Path, pidfile: Path) -> subprocess.Popen:
    """Another launcher of the run dir, as the running one holds it: the pidfile locked."""
    code = (
        "import fcntl, os, time\n"
        f"file = open({str(pidfile)!r}, 'a+')\n"
        "fcntl.flock(file, fcntl.LOCK_EX)\n"
        "file.write(f'launcher {os.getpid()}\\n'); file.flush()\n"
        "print('held', flush=True)\n"
        "time.sleep(60)\n"
    )
    launcher = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=tmp_path
    )
    assert launcher.stdout.readline().strip() == "held"
    return launcher


def test_a_run_dir_whose_launcher_still_runs_is_not_taken_over(tmp_path):
    federation = Federation(run_dir=tmp_path)
    launcher = holding_the_claim(tmp_path, federation.pidfile)
    try:
        with pytest.raises(NodeError, match=f"pid {launcher.pid}"):
            federation.stop_leftovers()
        federation.stop()  # what the refused launcher does next: the running one's file stays
        assert federation.pidfile.read_text() == f"launcher {launcher.pid}\n"
    finally:
        launcher.kill()
        launcher.wait(timeout=10)
        launcher.stdout.close()
    # Killed: the system dropped its lock, the next start takes the run dir over.
    assert federation.stop_leftovers() == []
    assert federation.pidfile.read_text() == f"launcher {os.getpid()}\n"
    federation.stop()
    assert not federation.pidfile.exists()


def test_a_killed_launchers_pid_now_used_by_another_process_does_not_block_the_next_start(
    tmp_path,
):
    """A pidfile that names a launcher killed before it could clean up, whose pid the system
    has since given to another process (even one with "federation" in its command line)."""
    federation = Federation(run_dir=tmp_path)
    reused = sleeper(tmp_path, env=dict(os.environ), note="python -m federation")
    try:
        federation.pidfile.write_text(f"launcher {reused.pid}\n{reused.pid}\n")
        (tmp_path / STATE_FILE).write_text("{}")  # the failed start's nodes
        assert federation.stop_leftovers() == []
        assert reused.poll() is None  # not ours: no marker
        assert federation.pidfile.read_text() == f"launcher {os.getpid()}\n"
        assert not (tmp_path / STATE_FILE).exists()
    finally:
        federation.stop()
        processes.stop(reused)


def test_secrets_a_killed_start_left_empty_are_made_again(tmp_path):
    """A start killed while writing a kept secret must not leave every later start an empty
    SECRET_KEY (Django refuses to start) or an empty admin password."""
    node = Federation(run_dir=tmp_path).hub
    node.config.data_dir.mkdir(parents=True)
    for name in ("secret_key", "admin_password"):
        (node.config.data_dir / name).write_text("\n")
    secret_key = node.environment()["SECRET_KEY"]
    password = node.admin_password()
    assert len(secret_key) >= 48 and len(password) >= 12
    # Kept from now on, readable by this user only, and no partial file left beside them.
    assert node.environment()["SECRET_KEY"] == secret_key
    assert node.admin_password() == password
    assert sorted(p.name for p in node.config.data_dir.iterdir()) == [
        "admin_password",
        "secret_key",
    ]
    for name in ("secret_key", "admin_password"):
        assert (node.config.data_dir / name).stat().st_mode & 0o777 == 0o600


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_management_command_stops_with_its_killed_launcher(tmp_path):
    """A migrate or an import a killed start left running would write into the next start's
    database at the same time."""
    marker = f"AR_TEST_MANAGE_RUN={tmp_path}"
    running = tmp_path / "running"
    command = f"import pathlib, time; pathlib.Path({str(running)!r}).touch(); time.sleep(60)"
    code = (
        "from pathlib import Path\n"
        "from federation.launcher import Node, NodeConfig\n"
        f"node = Node(NodeConfig(agency='EMA', role='agency', data_dir=Path({str(tmp_path)!r}),"
        " port=1))\n"
        f"node.shell({command!r})\n"
    )
    launcher = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parent.parent,
        env={**os.environ, "AR_TEST_MANAGE_RUN": str(tmp_path)},
    )
    try:
        assert wait_for(running.exists), "the command did not start"
        assert set(processes.pids_with_marker(marker)) - {launcher.pid}
        launcher.kill()
        launcher.wait(timeout=10)
        assert wait_for(lambda: processes.pids_with_marker(marker) == [])
    finally:
        launcher.kill()
        for pid in processes.pids_with_marker(marker):
            os.kill(pid, signal.SIGKILL)


def wait_for(check, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while not (result := check()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return result


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


def test_each_node_links_its_notices_to_its_own_address(tmp_path, monkeypatch):
    monkeypatch.setenv("SITE_URL", "http://caller.example")
    federation = Federation(run_dir=tmp_path, base_port=9100)
    urls = {
        node.config.agency: node.environment()["SITE_URL"] for node in federation.nodes.values()
    }
    assert urls == {node.config.agency: node.url for node in federation.nodes.values()}
    assert len(set(urls.values())) == 3


def test_production_mode_serves_https_by_default_and_the_embedded_one_plain_http(tmp_path):
    postgres = ["--postgres", "postgres://127.0.0.1:9", "--redis", "redis://127.0.0.1:9/0"]
    production = main.build_federation(main.parse_args([*postgres, "--run-dir", str(tmp_path)]))
    for node in production.nodes.values():
        assert node.url.startswith("https://127.0.0.1:")
        assert node.environment()["SITE_URL"].startswith("https://")  # secure cookies, HSTS
        assert node.environment()["DEBUG"] == "0"
        assert node.environment()["SYNC_CA_BUNDLE"] == str(tmp_path / "tls" / "ca.pem")
    agency = production.nodes["EMA"].config
    assert agency.hub_url.startswith("https://")
    embedded = main.build_federation(main.parse_args(["--run-dir", str(tmp_path / "embedded")]))
    assert all(node.url.startswith("http://127.0.0.1:") for node in embedded.nodes.values())
    assert all(node.environment()["DEBUG"] == "1" for node in embedded.nodes.values())
