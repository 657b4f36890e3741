"""Child processes in process groups of their own, so that stopping one stops everything it forked
(gunicorn workers, Celery pool children) and nothing is left behind.

Nothing is left behind either when the launcher dies without stopping them: on Linux each child
gets SIGTERM when the thread that started it dies (PR_SET_PDEATHSIG; gunicorn and Celery then stop
their own children), and a pidfile lists the groups so that the next start can stop any that
survived (see stop_recorded_groups). The launcher holds a lock on that pidfile while it runs (see
lock_pidfile).
"""

import contextlib
import ctypes
import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

STOP_GRACE_SECONDS = 10.0
# The signals that stop a launcher: held while a child is started and recorded.
STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
_PR_SET_PDEATHSIG = 1
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None


def start(cmd: list[str], *, env: dict[str, str], cwd: Path, log_path: Path) -> subprocess.Popen:
    """Start `cmd` as the leader of a new session (and so of a new process group). Start
    long-running children from the main thread: on Linux they are stopped when the thread that
    started them ends."""
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
            preexec_fn=child_setup(os.getpid()),
        )


def child_setup(parent: int):
    """What the child does between fork and exec: take the signals the parent may hold (see
    signals_held) and, on Linux, ask for SIGTERM when the parent dies."""

    def setup() -> None:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        if _prctl is not None:
            _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
            if os.getppid() != parent:  # the parent died before the request took effect
                os._exit(1)

    return setup


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold Ctrl-C, SIGTERM and SIGHUP until the block ends, so that a stop cannot fall between
    starting a child and recording it (a child nobody recorded is a child nobody stops)."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


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


# --- the pidfile: groups a launcher started, for the next start to stop if they outlive it ------


def lock_pidfile(pidfile: Path) -> IO | None:
    """Open `pidfile` (made if missing) holding an exclusive lock on it; None while another
    launcher holds it. The system drops the lock when its holder ends, however it ends, so a
    launcher that was killed never blocks the next start, and a pid the system has since given
    to another process is never mistaken for a running launcher."""
    file = open(pidfile, "a+")  # noqa: SIM115 (held open, and so locked, until released)
    try:
        fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        file.close()
        return None
    return file


def release_pidfile(pidfile: Path, claim: IO | None) -> None:
    """Remove `pidfile` and drop this launcher's lock; never another running launcher's file."""
    if claim is None:
        if not pidfile.exists():
            return
        claim = lock_pidfile(pidfile)
        if claim is None:
            return
    pidfile.unlink(missing_ok=True)
    claim.close()


def record_group(pidfile: Path, pgid: int) -> None:
    """Add a process group to `pidfile` (see stop_recorded_groups)."""
    with open(pidfile, "a") as file:
        file.write(f"{pgid}\n")


def claim_pidfile(pidfile: Path) -> None:
    """Start `pidfile` afresh, naming this process as the launcher (held with lock_pidfile)."""
    pidfile.write_text(f"launcher {os.getpid()}\n")


def recorded_launcher(pidfile: Path) -> str:
    """The pid that `pidfile` names as its launcher, for messages."""
    first = pidfile.read_text().partition("\n")[0] if pidfile.exists() else ""
    word, _, pid = first.partition(" ")
    return pid.strip() if word == "launcher" else "unknown"


def stop_recorded_groups(
    pidfile: Path, marker: str, grace: float = STOP_GRACE_SECONDS
) -> list[int]:
    """Stop the live process groups listed in `pidfile` whose every process carries `marker`
    (NAME=value) in its environment; the groups stopped. A group id the system has since given
    to someone else's processes is left alone. Call it holding the pidfile's lock."""
    if not pidfile.exists():
        return []
    listed = {int(line) for line in pidfile.read_text().split() if line.isdigit()}
    groups = _live_groups()
    ours = [
        pgid
        for pgid in sorted(listed)
        if groups.get(pgid) and all(_carries(pid, marker) for pid in groups[pgid])
    ]
    for pgid in ours:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and set(ours) & set(_live_groups()):
        time.sleep(0.1)
    for pgid in set(ours) & set(_live_groups()):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
    return ours


def _live_groups() -> dict[int, list[int]]:
    """Process group id -> its processes that are not zombies."""
    groups: dict[int, list[int]] = {}
    if Path("/proc/self/stat").exists():
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if fields[0] != "Z":
                groups.setdefault(int(fields[2]), []).append(int(entry.name))
        return groups
    table = subprocess.run(["ps", "-A", "-o", "pid=,pgid=,stat="], capture_output=True, text=True)
    for line in table.stdout.splitlines():
        pid, pgid, state = line.split()[:3]
        if not state.startswith("Z"):
            groups.setdefault(int(pgid), []).append(int(pid))
    return groups


def _carries(pid: int, marker: str) -> bool:
    """Whether `marker` (NAME=value) is in the process's environment."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except FileNotFoundError:
        if Path("/proc/self/environ").exists():
            return False
        # macOS: `ps -E` appends the environment to the command line.
        shown = subprocess.run(
            ["ps", "-E", "-ww", "-o", "command=", "-p", str(pid)], capture_output=True, text=True
        )
        return f" {marker} " in f" {shown.stdout.strip()} "
    except (ProcessLookupError, PermissionError):
        return False
    return b"\0" + marker.encode() + b"\0" in b"\0" + environ
