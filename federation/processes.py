"""Child processes in process groups of their own, so that stopping one stops everything it forked
(gunicorn workers, Celery pool children) and nothing is left behind."""

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

STOP_GRACE_SECONDS = 10.0


def start(cmd: list[str], *, env: dict[str, str], cwd: Path, log_path: Path) -> subprocess.Popen:
    """Start `cmd` as the leader of a new session (and so of a new process group)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        log.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(cmd)}\n".encode())
        log.flush()
        # The child keeps its own copy of the descriptor; ours closes with the `with`.
        return subprocess.Popen(
            cmd,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def signal_group(process: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


def stop(*group_leaders: subprocess.Popen, grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM to every group at once, SIGKILL to whatever is still there after `grace` seconds.
    Stopping all together keeps a federation's shutdown as long as its slowest process's."""
    for process in group_leaders:
        signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for process in group_leaders:
        if not _wait_group_gone(process, max(0.0, deadline - time.monotonic())):
            signal_group(process, signal.SIGKILL)
            _wait_group_gone(process, grace)


def kill(process: subprocess.Popen) -> None:
    """SIGKILL the whole group at once: what a crash or the OOM killer does."""
    signal_group(process, signal.SIGKILL)
    _wait_group_gone(process, STOP_GRACE_SECONDS)


def _wait_group_gone(process: subprocess.Popen, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        process.poll()  # reap the leader so that it does not linger as a zombie
        if process.returncode is not None and not group_alive(process.pid):
            return True
        time.sleep(0.1)
    process.poll()
    return process.returncode is not None and not group_alive(process.pid)


def free_port() -> int:
    """A port the kernel considers free right now (bind to port 0, then release it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def pids_with_marker(marker: str) -> list[int]:
    """Processes whose environment holds `marker` (read from /proc; no psutil needed)."""
    found = []
    needle = marker.encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if needle in environ and state != "Z":
            found.append(int(entry.name))
    return found
