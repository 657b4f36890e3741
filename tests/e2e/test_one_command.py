"""The demo as the README starts it: `python3 scripts/federation.py` brings up a hub and two
agencies, carries a record from one agency to the other through the hub, and on Ctrl-C stops
every process it started. However the launcher ends (SIGTERM, its terminal closed, SIGKILL), no
node process outlives it."""

import importlib.util
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from federation import probe, processes
from federation.launcher import PROJECT_ROOT
from federation.topology import load_nodes
from tests.e2e.helpers import act, key, wait_until

pytestmark = pytest.mark.e2e

SCRIPT = PROJECT_ROOT / "scripts" / "federation.py"
UP = "The federation is up"
DASHED = "-Zq3vN8xLk2Pw7Rt"


@dataclass
class Launch:
    process: subprocess.Popen
    output: Path
    marker: str  # NAME=value in the environment of the launcher and everything it starts

    def text(self) -> str:
        return self.output.read_text(errors="replace")

    def left_behind(self) -> list[int]:
        return processes.pids_with_marker(self.marker)


@contextmanager
def launched(tmp_path: Path, *options: str) -> Iterator[Launch]:
    """`python3 scripts/federation.py OPTIONS` until it says the federation is up; whatever
    happens, nothing it started survives the block."""
    bootstrap = _load_bootstrap()
    assert bootstrap.PYTHON.exists() and not bootstrap.needs_install(), (
        "scripts/federation.py would (re)install .venv: run ./run-tests once first"
    )
    name, value = "AR_ONE_COMMAND_RUN", uuid.uuid4().hex
    output = tmp_path / f"federation-{value[:8]}.out"
    with open(output, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, str(SCRIPT), *options],
            cwd=PROJECT_ROOT,
            env={**os.environ, name: value},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    launch = Launch(process, output, f"{name}={value}")
    try:
        wait_until(
            lambda: UP in launch.text() or process.poll() is not None,
            timeout=300,
            what="the federation to come up",
        )
        assert process.poll() is None, launch.text()
        yield launch
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        for pid in launch.left_behind():  # only after a failure: clean up anyway
            os.kill(pid, signal.SIGKILL)


def _load_bootstrap():
    spec = importlib.util.spec_from_file_location("federation_bootstrap", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_one_command_federation_carries_a_record_across_and_leaves_no_process_behind(tmp_path):
    run_dir = tmp_path / "run"
    # A kept password that looks like an option (a random one does one time in 64).
    (run_dir / "ema").mkdir(parents=True)
    (run_dir / "ema" / "admin_password").write_text(DASHED)
    options = ["--base-port=0", "--interval=2", f"--run-dir={run_dir}"]
    with launched(tmp_path, *options, "--progress-every=2") as launch:
        output = launch.text()
        assert "Installing" not in output
        # ../shared/data is beside the repository here (and in CI): the hub imports the
        # reference registers, no agency imports them as its own.
        assert "EMRN-HUB: importing reference register us_omb_2025_" in output
        assert "EMA: importing" not in output
        nodes = load_nodes(run_dir)
        for code, node in nodes.items():
            assert f"{node.url}/  admin {node.url}/admin/" in output
            login = f"login admin or {code.lower()}-admin, password {node.admin_password()}"
            assert login in output
        ema, bfarm = nodes["EMA"], nodes["DE-BFARM"]
        assert ema.admin_password() == DASHED  # kept, and seed_demo took it
        uid = act(ema, "create", count=1, level="network", title="From EMA to BfArM")[0]
        wait_until(
            lambda: key(ema, uid) in probe.use_cases(bfarm),
            timeout=90,
            what="the record to reach DE-BFARM through the hub",
        )

        launch.process.send_signal(signal.SIGINT)
        assert launch.process.wait(timeout=90) == 0, launch.text()
        assert "All processes stopped." in launch.text()
        assert launch.left_behind() == []


QUICK = ("--base-port=0", "--no-seed", "--no-inventories", "--progress-every=30")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_terminated_or_hung_up_launcher_stops_every_node(tmp_path, signum):
    with launched(tmp_path, *QUICK, f"--run-dir={tmp_path / 'run'}") as launch:
        assert len(launch.left_behind()) >= 10  # the launcher and 3 x (web, worker, beat)
        launch.process.send_signal(signum)
        assert launch.process.wait(timeout=90) == 0, launch.text()
        assert launch.left_behind() == []


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_the_nodes_of_a_killed_launcher_stop_on_their_own(tmp_path):
    """SIGKILL or the OOM killer leaves the launcher no time to stop anything: each node process
    gets SIGTERM when it dies (the pidfile clean-up of the next start is tested in
    tests/test_federation_main.py)."""
    with launched(tmp_path, *QUICK, f"--run-dir={tmp_path / 'run'}") as launch:
        launch.process.kill()
        launch.process.wait(timeout=10)
        wait_until(
            lambda: launch.left_behind() == [],
            timeout=60,
            what="the node processes to stop after their launcher was killed",
        )
