"""docker-compose.yml describes the production stack (CI also runs `docker-compose config`; these
machines have no Docker engine to start it)."""

from pathlib import Path

import pytest
import yaml

COMPOSE = Path(__file__).resolve().parent.parent / "docker-compose.yml"
NODES = {"hub": "EMRN-HUB", "ema": "EMA", "bfarm": "DE-BFARM"}


@pytest.fixture(scope="module")
def services() -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def test_postgresql_and_redis_come_from_official_images_with_health_checks(services):
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["redis"]["image"].startswith("redis:")
    assert all("healthcheck" in services[name] for name in ("postgres", "redis"))


@pytest.mark.parametrize("node", NODES)
def test_every_process_of_a_node_runs_our_one_image_after_its_database_is_migrated(services, node):
    migrate = services[f"{node}-migrate"]
    assert "migrate" in " ".join(migrate["command"])
    assert migrate["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    for process in ("web", "worker", "beat"):
        service = services[f"{node}-{process}"]
        assert service["image"] == migrate["image"] == "ai-registry:latest"
        assert service["depends_on"] == {
            f"{node}-migrate": {"condition": "service_completed_successfully"}
        }
        assert service["environment"] == migrate["environment"]
        assert service["environment"]["NODE_AGENCY"] == NODES[node]


def test_agencies_create_their_own_agency_and_know_the_hub(services):
    for node in ("ema", "bfarm"):
        assert "create_agency" in " ".join(services[f"{node}-migrate"]["command"])
        environment = services[f"{node}-web"]["environment"]
        assert environment["HUB_URL"] == "https://hub.proxy:8443"
        assert environment["SYNC_CA_BUNDLE"].startswith("/caddy-data/")
        assert "caddy-data:/caddy-data:ro" in services[f"{node}-worker"]["volumes"]


def test_only_the_tls_proxy_is_published_and_the_nodes_trust_its_header(services):
    proxy = services["proxy"]
    assert proxy["image"].startswith("caddy:")
    assert "./docker/Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    assert "hub.proxy" in proxy["networks"]["default"]["aliases"]
    caddyfile = (COMPOSE.parent / "docker" / "Caddyfile").read_text()
    for node in NODES:
        web = services[f"{node}-web"]
        assert "ports" not in web, f"{node}-web is reached through the proxy only"
        assert f"reverse_proxy {node}-web:8000" in caddyfile
        assert web["environment"]["BEHIND_TLS_PROXY"] == "1"
        # One proxy in front: throttles and lockouts key on the address Caddy saw.
        assert web["environment"]["TRUSTED_PROXY_COUNT"] == "1"
        assert (
            web["environment"]["SITE_URL"].startswith("${")
            and "https://" in (web["environment"]["SITE_URL"])
        )


def test_each_node_has_its_own_database_broker_and_cache(services):
    environments = [services[f"{node}-web"]["environment"] for node in NODES]
    for setting in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "SECRET_KEY"):
        assert len({env[setting] for env in environments}) == len(NODES), setting
    assert all(env["DEBUG"] == "0" for env in environments)
    assert all(env["DB_CONN_MAX_AGE"] == "60" for env in environments)


@pytest.mark.parametrize("node", NODES)
def test_web_workers_are_threaded_so_a_long_export_is_never_killed_mid_download(services, node):
    """gunicorn's sync workers are killed after --timeout while one request runs; a thread worker
    keeps answering its arbiter, so a whole-catalogue XLSX export completes (bench/catalogue.py)."""
    command = services[f"{node}-web"]["command"]
    assert command[command.index("--worker-class") + 1] == "gthread"
    assert int(command[command.index("--threads") + 1]) > 1
