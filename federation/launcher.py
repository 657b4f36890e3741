"""Start and stop federation nodes as real processes.

A node is one Django deployment: `migrate`, then a web server, a Celery worker and Celery beat,
each in a process group of its own with its own environment (NODE_ROLE, NODE_AGENCY, DATA_DIR or
DATABASE_URL/CELERY_BROKER_URL, HUB_URL, HUB_TOKEN, SECRET_KEY, SYNC_INTERVAL_SECONDS). Logs go to
files under the node's data dir. Used by `python -m federation`, the end-to-end tests and bench/.
"""

import json
import os
import secrets
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from federation import processes

PROJECT_ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT_SECONDS = 60.0
MANAGE_TIMEOUT_SECONDS = 600.0

# Settings the launcher decides per node: never inherited from the caller's environment.
NODE_SETTINGS = (
    "NODE_ROLE",
    "NODE_AGENCY",
    "DATA_DIR",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CELERY_BROKER_DIR",
    "CACHE_URL",
    "STATIC_ROOT",
    "HUB_URL",
    "HUB_TOKEN",
    "SITE_URL",
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "SYNC_INTERVAL_SECONDS",
    "DJANGO_SETTINGS_MODULE",
)


class NodeError(RuntimeError):
    """A node's command failed or it did not come up; the message carries its log's tail."""


@dataclass
class NodeConfig:
    agency: str
    role: str  # "agency" or "hub"
    data_dir: Path
    port: int
    database_url: str = ""  # empty: SQLite under data_dir
    broker_url: str = ""  # empty: the filesystem broker under data_dir
    cache_url: str = ""  # empty: a cache per process
    hub_url: str = ""
    hub_token: str = ""
    sync_interval: int = 10
    production: bool = False  # gunicorn, DEBUG=0, collected static files
    web_workers: int = 2
    extra_env: dict[str, str] = field(default_factory=dict)
    # HTTPS (production mode only: gunicorn terminates TLS): this node's certificate and key,
    # and the CA bundle its sync client verifies peers against (SYNC_CA_BUNDLE).
    certfile: str = ""
    keyfile: str = ""
    ca_bundle: str = ""

    @property
    def url(self) -> str:
        scheme = "https" if self.certfile else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    @property
    def name(self) -> str:
        return self.agency.lower()


class Node:
    def __init__(self, config: NodeConfig, *, pidfile: Path | None = None):
        self.config = config
        self.processes: dict[str, subprocess.Popen] = {}
        self.pidfile = pidfile  # where started process groups are recorded (see processes)

    def __repr__(self) -> str:
        return f"<Node {self.config.agency} {self.config.url}>"

    @property
    def url(self) -> str:
        return self.config.url

    @property
    def log_dir(self) -> Path:
        return self.config.data_dir / "logs"

    def environment(self) -> dict[str, str]:
        c = self.config
        env = {k: v for k, v in os.environ.items() if k not in NODE_SETTINGS}
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings",
            PYTHONUNBUFFERED="1",
            NODE_ROLE=c.role,
            NODE_AGENCY=c.agency,
            DATA_DIR=str(c.data_dir),
            HUB_URL=c.hub_url,
            HUB_TOKEN=c.hub_token,
            SECRET_KEY=self._kept_secret("secret_key", 48),
            DEBUG="0" if c.production else "1",
            ALLOWED_HOSTS="127.0.0.1,localhost",
            SYNC_INTERVAL_SECONDS=str(c.sync_interval),
            SITE_URL=self.url,  # notices link to this node's pages
        )
        if c.database_url:
            env["DATABASE_URL"] = c.database_url
        if c.broker_url:
            env["CELERY_BROKER_URL"] = c.broker_url
        if c.cache_url:  # gunicorn workers share counts, responses and the throttle
            env["CACHE_URL"] = c.cache_url
        if c.ca_bundle:
            env["SYNC_CA_BUNDLE"] = c.ca_bundle
        if c.production:
            # A connection per request costs a new PostgreSQL backend each time (a hub receiving a
            # push: 16% of its throughput, bench/sync.py).
            env["DB_CONN_MAX_AGE"] = "60"
        env.update(c.extra_env)
        return env

    def _kept_secret(self, filename: str, size: int) -> str:
        """A random secret made once and kept in the data dir, so that a restarted node keeps
        its sessions (SECRET_KEY) and its demo logins. Written whole or not at all: a start
        killed while writing it must not leave an empty one that every later start would use
        (an empty SECRET_KEY stops Django). It may begin with "-": see manage."""
        path = self.config.data_dir / filename
        kept = path.read_text().strip() if path.exists() else ""
        if kept:
            return kept
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{filename}.{os.getpid()}")
        with open(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as file:
            file.write(secrets.token_urlsafe(size))
        os.replace(partial, path)
        return path.read_text().strip()

    # --- one-off commands -------------------------------------------------------------------

    def manage(self, *args: str, timeout: float = MANAGE_TIMEOUT_SECONDS) -> str:
        """Run a management command against this node; its output, or NodeError.

        Give every option with a value as one argument, `--password=VALUE`, never as two: a
        value that begins with "-" (a random password does, one time in 64) would be read as
        an option. On Linux the command stops when the launcher dies, so that a killed start
        leaves no migrate or import running into the next start's."""
        result = subprocess.run(
            [sys.executable, "-m", "django", *args],
            env=self.environment(),
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
            preexec_fn=processes.child_setup(os.getpid()),
        )
        if result.returncode != 0:
            raise NodeError(
                f"{self.config.agency}: manage.py {' '.join(args)} exited with "
                f"{result.returncode}:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
            )
        return result.stdout

    def shell(self, code: str, timeout: float = MANAGE_TIMEOUT_SECONDS) -> str:
        return self.manage("shell", f"--command={code}", timeout=timeout)

    def prepare(self) -> None:
        """Create the data dir, apply migrations, set the sync interval (beat's schedule lives in
        the database and outlives a restart) and, in production mode, collect static files."""
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        self.manage("migrate", "--noinput", "--verbosity=0")
        self.manage("setup_sync_schedule", f"--interval={self.config.sync_interval}")
        if self.config.production:
            self.manage("collectstatic", "--noinput", "--verbosity=0")

    def issue_peer_token(self, agency: str) -> str:
        """A token for `agency` to call this node: the last line of issue_peer_token's output."""
        lines = self.manage("issue_peer_token", "--", agency).strip().splitlines()
        if not lines or not lines[-1].strip():
            raise NodeError(f"{self.config.agency}: issue_peer_token {agency} printed no token")
        return lines[-1].strip()

    def admin_password(self) -> str:
        """The demo logins' password."""
        return self._kept_secret("admin_password", 12)

    def ensure_agencies(self) -> None:
        """The demo agencies and this node's, as seed_demo creates them but without logins or
        use cases: an inventory import and the admin's "add use case" need them."""
        self.shell(f"from registry.demo import seed; seed.seed_agencies({self.config.agency!r})")

    def ensure_superuser(self, username: str = "admin") -> None:
        """A superuser login with admin_password(), for nodes that are not seeded."""
        self.shell(
            "from django.contrib.auth import get_user_model\n"
            "User = get_user_model()\n"
            f"user, _ = User.objects.get_or_create(username={username!r})\n"
            "user.is_staff = user.is_superuser = True\n"
            f"user.set_password({self.admin_password()!r})\n"
            "user.save()\n"
        )

    # --- long-running processes -------------------------------------------------------------

    def web_command(self) -> list[str]:
        if self.config.production:
            return [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi",
                f"--bind=127.0.0.1:{self.config.port}",
                f"--workers={self.config.web_workers}",
                # Threads: a long export (an XLSX of the whole catalogue) keeps its worker
                # answering the arbiter, so --timeout never kills a download in progress.
                "--worker-class=gthread",
                "--threads=4",
                "--timeout=120",
                "--access-logfile=-",
                *tls_options(self.config),
            ]
        if self.config.certfile:
            raise NodeError(f"{self.config.agency}: HTTPS needs production mode (gunicorn)")
        return [
            sys.executable,
            "-m",
            "django",
            "runserver",
            "--noreload",
            "--skip-checks",
            f"127.0.0.1:{self.config.port}",
        ]

    def worker_command(self) -> list[str]:
        pool = ["--pool=prefork", "--concurrency=2"] if self.config.production else ["--pool=solo"]
        return [
            sys.executable,
            "-m",
            "celery",
            "--app=config",
            "worker",
            *pool,
            "--loglevel=INFO",
            f"--hostname={self.config.name}@%h",
        ]

    def beat_command(self) -> list[str]:
        return [sys.executable, "-m", "celery", "--app=config", "beat", "--loglevel=INFO"]

    def start_process(self, kind: str) -> subprocess.Popen:
        command = {
            "web": self.web_command,
            "worker": self.worker_command,
            "beat": self.beat_command,
        }
        if kind in self.processes and self.processes[kind].poll() is None:
            raise NodeError(f"{self.config.agency}: {kind} is already running")
        with processes.signals_held():
            process = processes.start(
                command[kind](),
                env=self.environment(),
                cwd=PROJECT_ROOT,
                log_path=self.log_dir / f"{kind}.log",
            )
            self.processes[kind] = process
            if self.pidfile is not None:
                processes.record_group(self.pidfile, process.pid)
        return process

    def stop_process(self, kind: str) -> None:
        process = self.processes.pop(kind, None)
        if process is not None:
            processes.stop(process)

    def kill_process(self, kind: str) -> None:
        process = self.processes.pop(kind, None)
        if process is not None:
            processes.kill(process)

    def start(self, *, wait: bool = True) -> None:
        for kind in ("web", "worker", "beat"):
            self.start_process(kind)
        if wait:
            self.wait_ready()

    def stop(self) -> None:
        """Stop every process of this node (all at once: see processes.stop)."""
        processes.stop(*self.detach_processes())

    def detach_processes(self) -> list[subprocess.Popen]:
        """Hand over this node's processes (to be stopped) and forget them."""
        running = list(self.processes.values())
        self.processes.clear()
        return running

    def wait_ready(self, timeout: float = READY_TIMEOUT_SECONDS) -> dict:
        """Poll GET /federation/v1/node until it answers with this node's identity."""
        deadline = time.monotonic() + timeout
        last_error = "no answer yet"
        while time.monotonic() < deadline:
            for kind, process in self.processes.items():
                if process.poll() is not None:
                    raise NodeError(
                        f"{self.config.agency}: {kind} exited with {process.returncode}\n"
                        + self.log_tail(kind)
                    )
            try:
                info = self.node_info(timeout=2)
                if info.get("agency") == self.config.agency:
                    return info
                last_error = f"answered as {info!r}"
            except (OSError, ValueError) as exc:
                last_error = str(exc)
            time.sleep(0.3)
        raise NodeError(
            f"{self.config.agency}: not ready after {timeout:.0f}s ({last_error})\n"
            + self.log_tail("web")
        )

    def node_info(self, timeout: float = 5) -> dict:
        url = f"{self.url}/federation/v1/node"
        with urllib.request.urlopen(url, timeout=timeout, context=self.ssl_context()) as answer:
            return json.load(answer)

    def ssl_context(self) -> ssl.SSLContext | None:
        """What a client of this node's https address verifies it with (the node's CA bundle)."""
        if not self.config.certfile:
            return None
        return ssl.create_default_context(cafile=self.config.ca_bundle or None)

    def log_tail(self, kind: str, lines: int = 40) -> str:
        path = self.log_dir / f"{kind}.log"
        if not path.exists():
            return f"(no {path})"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def running(self) -> dict[str, bool]:
        return {kind: p.poll() is None for kind, p in self.processes.items()}


def tls_options(config: NodeConfig) -> list[str]:
    if not config.certfile:
        return []
    return [f"--certfile={config.certfile}", f"--keyfile={config.keyfile}"]


__all__ = ["Node", "NodeConfig", "NodeError", "PROJECT_ROOT"]
