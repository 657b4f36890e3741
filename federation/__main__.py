"""`python -m federation`: a hub and two agency nodes on this machine, seeded, wired and syncing.

Runs until Ctrl-C, SIGTERM or SIGHUP (its terminal closed), then stops every process it started.
See docs/operations.md.
"""

import argparse
import contextlib
import signal
import sys
import time
from pathlib import Path

from federation import probe, processes
from federation.launcher import PROJECT_ROOT, Node, NodeError
from federation.topology import Backend, Federation

DEFAULT_DATA = PROJECT_ROOT.parent / "shared" / "data"
# The public registers of bodies outside the network that the hub imports when the data folder
# has them (registry.reference): served to every agency as those registers' records, never as
# an agency's own.
REFERENCE_REGISTERS = {
    "us-omb-2025": "us_omb_2025_individually_reported_AI_use_cases.csv",
    "nl-algorithm-register": "nl_minbzk_algoritmeregister_pub_data_2023-05.json",
}


class Stop(BaseException):
    """Ctrl-C, SIGTERM or SIGHUP: leave the main loop and stop everything. A BaseException, like
    KeyboardInterrupt, so that no `except Exception` on the way (the progress probe has one)
    can swallow it."""


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    federation = build_federation(args)
    _on_signals(_raise_stop)
    try:
        set_up(federation, args)
        print_welcome(federation, args)
        watch(federation, args.progress_every)
    except Stop:
        pass
    except NodeError as exc:
        print(f"\nA node failed: {exc}", file=sys.stderr)
        return 1
    finally:
        _on_signals(signal.SIG_IGN)  # a second Ctrl-C must not interrupt the clean-up
        _say("\nStopping every node ...")
        federation.stop()
        _say("All processes stopped.")
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m federation", description=__doc__)
    parser.add_argument(
        "--run-dir",
        type=Path,
        default=PROJECT_ROOT / "var" / "federation",
        help="data dirs, databases and logs of the nodes (default: %(default)s)",
    )
    parser.add_argument(
        "--base-port",
        type=int,
        default=8000,
        help="hub on this port, agencies on the next ones; 0 = any free ports "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--interval", type=int, default=10, help="sync interval in seconds (default: %(default)s)"
    )
    parser.add_argument(
        "--progress-every",
        type=float,
        default=5.0,
        help="seconds between progress lines (default: %(default)s)",
    )
    parser.add_argument(
        "--inventories",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="import on the hub the reference registers found in --data (the US federal AI "
        "inventory, the Dutch algorithm register) as records of those registers, which every "
        "agency then receives (default: on; --no-inventories skips them)",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA,
        help="folder holding the reference registers' files (default: %(default)s)",
    )
    parser.add_argument("--no-seed", action="store_true", help="skip seed_demo")
    parser.add_argument(
        "--postgres",
        default="",
        help="production topology: PostgreSQL server URL (a database per node is "
        "created next to it), with --redis; gunicorn, DEBUG=0, HTTPS",
    )
    parser.add_argument(
        "--https",
        action="store_true",
        help="production mode on SQLite: gunicorn, DEBUG=0, every node served over HTTPS (as "
        "with --postgres) with a certificate from a local test CA made under the run dir "
        "(tls/ca.pem); nodes verify each other against it",
    )
    parser.add_argument(
        "--redis",
        default="",
        help="Redis URL redis://HOST:PORT/N: the nodes' brokers use databases N to N+2, their "
        "caches N+3 to N+5",
    )
    parser.add_argument(
        "--db-prefix",
        default="federation",
        help="with --postgres: the nodes' databases are <prefix>_emrn_hub, <prefix>_ema, ... "
        "(default: %(default)s)",
    )
    args = parser.parse_args(argv)
    if bool(args.postgres) != bool(args.redis):
        parser.error("--postgres and --redis go together")
    return args


def build_federation(args: argparse.Namespace) -> Federation:
    """Production mode (--postgres, or --https on SQLite) is gunicorn, DEBUG=0 and always HTTPS
    with a certificate from a local test CA (issue 12: the production topology serves HTTPS;
    secure cookies and HSTS follow from the https SITE_URL). The embedded default stays plain
    http on loopback with DEBUG on, for a first look."""
    production = bool(args.postgres) or args.https
    return Federation(
        run_dir=args.run_dir.resolve(),
        base_port=args.base_port,
        interval=args.interval,
        backend=Backend(postgres_url=args.postgres, redis_url=args.redis, db_prefix=args.db_prefix),
        production=production,
        tls=production,
    )


def set_up(federation: Federation, args: argparse.Namespace) -> None:
    stopped = federation.stop_leftovers()
    if stopped:
        print(f"Stopped {len(stopped)} process groups left running by an earlier run.", flush=True)
    for node in federation.nodes.values():
        if processes.port_in_use(node.config.port):
            raise NodeError(
                f"port {node.config.port} ({node.config.agency}) is in use: give --base-port N, "
                "or --base-port 0 for any free ports"
            )
    print(f"Preparing {len(federation.nodes)} nodes under {federation.run_dir} ...", flush=True)
    federation.prepare()
    for node in federation.nodes.values():
        if args.no_seed:  # the agencies still: imports and the admin's forms need them
            node.ensure_agencies()
            node.ensure_superuser()
        else:
            print(f"  {node.config.agency}: seed_demo", flush=True)
            node.manage("seed_demo", f"--password={node.admin_password()}")
        if args.inventories and node.config.role == "hub":
            import_reference_registers(node, args.data)
    federation.write_state()
    print("Starting web servers, workers and beat ...", flush=True)
    federation.start()


def import_reference_registers(node: Node, data_dir: Path) -> None:
    """The hub imports each reference register whose file is in `data_dir`."""
    for register, filename in REFERENCE_REGISTERS.items():
        path = data_dir / filename
        if not path.exists():
            print(f"  {node.config.agency}: {path} not found, {register} skipped", flush=True)
            continue
        print(f"  {node.config.agency}: importing reference register {path.name} ...", flush=True)
        output = node.manage(
            "import_reference_register", f"--register={register}", "--", str(path.resolve())
        )
        print(f"    {output.strip().splitlines()[-1] if output.strip() else 'done'}", flush=True)


def print_welcome(federation: Federation, args: argparse.Namespace) -> None:
    print("\nThe federation is up:\n")
    for node in federation.nodes.values():
        logins = "admin" if args.no_seed else f"admin or {node.config.agency.lower()}-admin"
        print(
            f"  {node.config.agency:<9} {node.config.role:<7} {node.url}/  admin {node.url}/admin/"
            f"  login {logins}, password {node.admin_password()}"
        )
    print(
        f"\nSync every {args.interval}s. Logs: {federation.run_dir}/<node>/logs/. "
        "Ctrl-C stops everything.\n",
        flush=True,
    )


def watch(federation: Federation, every: float) -> None:
    """Print one progress line every `every` seconds until a signal arrives."""
    while True:
        print(progress_line(federation), flush=True)
        time.sleep(every)
        for node in federation.nodes.values():
            for kind, alive in node.running().items():
                if not alive:
                    raise NodeError(f"{node.config.agency}: {kind} exited\n{node.log_tail(kind)}")


def progress_line(federation: Federation) -> str:
    parts = []
    for node in federation.nodes.values():
        try:
            c = probe.counts(node)
        except Exception as exc:  # a locked or migrating database: show it, keep watching
            parts.append(f"{node.config.agency}: ({exc.__class__.__name__})")
            continue
        if node.config.role == "hub":
            parts.append(
                f"{node.config.agency}: {c['received']} records, "
                f"feed {c['feed']} (+{c['tombstones']} deleted)"
            )
        else:
            parts.append(
                f"{node.config.agency}: own {c['own']} ({c['own_shared']} shared), "
                f"from others {c['received']}{hub_trouble(node)}"
            )
    return time.strftime("%H:%M:%S  ") + " | ".join(parts)


def hub_trouble(node: Node) -> str:
    """What went wrong with the agency's hub peer, when something did: failing syncs would
    otherwise only show as counts that stop growing."""
    try:
        peer = probe.hub_peer(node)
    except Exception:  # the sync tables are read like the counts: a busy database is no news
        return ""
    if peer is None or not (peer.auth_failed or peer.last_error):
        return ""
    error = (peer.last_error.strip().splitlines() or [""])[0][:120]
    if peer.auth_failed:
        return f"; hub refused the token (sync stopped): {error}"
    return f"; hub sync failing ({peer.consecutive_failures} in a row): {error}"


def _raise_stop(signum, frame):
    _on_signals(signal.SIG_IGN)  # the first signal stops everything; more only interrupt that
    raise Stop()


def _on_signals(handler) -> None:
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, handler)


def _say(text: str) -> None:
    """Print, unless the terminal has gone (SIGHUP): stopping the nodes matters more."""
    with contextlib.suppress(OSError):
        print(text, flush=True)


if __name__ == "__main__":
    sys.exit(main())
