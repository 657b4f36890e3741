"""A redis-server process of a test's own, on a free loopback port, to stop and start at will
(never the machine's shared Redis, which other runs use). It keeps nothing (`--save ''`): started
again, it is a Redis that lost its queue."""

import subprocess
from pathlib import Path

from federation import processes
from tests.e2e.helpers import wait_until


class RedisServer:
    def __init__(self, log: Path):
        self.port = processes.free_port()
        self.log = log
        self.process: subprocess.Popen | None = None

    def url(self, number: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{number}"

    def start(self) -> "RedisServer":
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--daemonize", "no"]
        with open(self.log, "a") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        wait_until(
            lambda: processes.port_in_use(self.port), timeout=10, what="redis-server to listen"
        )
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None
