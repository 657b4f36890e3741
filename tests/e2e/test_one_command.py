"""The demo as the README starts it: `python -m federation` brings up a hub and two agencies,
carries a record from one agency to the other through the hub, and on Ctrl-C stops every
process it started."""

import os
import signal
import subprocess
import sys
import uuid

import pytest

from federation import probe, processes
from federation.launcher import PROJECT_ROOT
from federation.topology import load_nodes
from tests.e2e.helpers import act, key, wait_until

pytestmark = pytest.mark.e2e


def test_one_command_federation_carries_a_record_across_and_leaves_no_process_behind(tmp_path):
    name, value = "AR_ONE_COMMAND_RUN", uuid.uuid4().hex
    marker = f"{name}={value}"
    output = tmp_path / "federation.out"
    command = [sys.executable, "-m", "federation", "--base-port", "0", "--interval", "2"]
    command += ["--run-dir", str(tmp_path / "run"), "--progress-every", "2"]
    with open(output, "wb") as out:
        launcher = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env={**os.environ, name: value},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(
            lambda: "The federation is up" in output.read_text() or launcher.poll() is not None,
            timeout=240,
            what="the federation to come up",
        )
        assert launcher.poll() is None, output.read_text()
        # ../shared/data is beside the repository here (and in CI): the real inventories come in.
        assert "EMA: importing us_omb_2025_individually_reported_AI_use_cases.csv" in (
            output.read_text()
        )
        nodes = load_nodes(tmp_path / "run")
        ema, bfarm = nodes["EMA"], nodes["DE-BFARM"]
        uid = act(ema, "create", count=1, level="network", title="From EMA to BfArM")[0]
        wait_until(
            lambda: key(ema, uid) in probe.use_cases(bfarm),
            timeout=90,
            what="the record to reach DE-BFARM through the hub",
        )

        launcher.send_signal(signal.SIGINT)
        assert launcher.wait(timeout=90) == 0, output.read_text()
        assert "All processes stopped." in output.read_text()
        assert processes.pids_with_marker(marker) == []
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait(timeout=30)
        for pid in processes.pids_with_marker(marker):  # only after a failure: clean up anyway
            os.kill(pid, signal.SIGKILL)
