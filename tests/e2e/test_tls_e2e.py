"""TLS between nodes end to end: the launcher's HTTPS mode (gunicorn with a certificate from a
local trustme CA). EMA and the hub sync over https, verifying each other against that CA
(SYNC_CA_BUNDLE); EMA's sync run with another CA only refuses to talk to the hub; the pages
carry HSTS and secure cookies."""

import dataclasses
import ssl
import urllib.error
import urllib.request
import uuid

import pytest
import trustme

from federation import probe, processes
from federation.launcher import Node, NodeError
from federation.topology import Federation
from tests.e2e.conftest import SINGLE_NODE_BROKER_SHIFT, backend_from_environment
from tests.e2e.helpers import act, key, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def tls_federation(tmp_path_factory, marker):
    run_dir = tmp_path_factory.mktemp("tls")
    # A marker of its own: the session's federation (same marker) may be running beside it.
    marker = f"{marker}-tls"
    name, value = marker.split("=")
    # Brokers: two Redis numbers from the single-node modules' shift (those never run at the same
    # time as this one); no Redis cache, so no number past them (the fault scenarios' federation
    # holds those).
    backend = backend_from_environment(uuid.uuid4().hex[:8], broker_shift=SINGLE_NODE_BROKER_SHIFT)
    federation = Federation(
        run_dir=run_dir,
        interval=2,
        backend=backend,
        production=True,
        tls=True,
        agencies=("EMA",),
        extra_env={name: value, "SYNC_HTTP_TIMEOUT_SECONDS": "5"},
    )
    for node in federation.nodes.values():
        node.config.cache_url = ""  # a cache per process: this test counts nothing in it
    try:
        federation.prepare(fresh_databases=True)
        for node in federation.nodes.values():
            act(node, "ensure_agencies")
        federation.start()
        yield federation
    finally:
        federation.stop()
        federation.drop_databases()
    assert processes.pids_with_marker(marker) == [], "processes left behind"


def test_nodes_sync_over_https_and_a_client_with_another_ca_refuses(tls_federation, tmp_path):
    hub, ema = tls_federation.hub, tls_federation.nodes["EMA"]
    assert hub.url.startswith("https://") and ema.config.hub_url.startswith("https://")
    uid = act(ema, "create", count=1, level="network", title="Over TLS")[0]
    wait_until(lambda: key(ema, uid) in probe.use_cases(hub), timeout=90, what="EMA -> hub")
    assert probe.hub_peer(ema).last_error == ""

    wrong_ca = tmp_path / "another-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(wrong_ca))
    env = {**ema.config.extra_env, "SYNC_CA_BUNDLE": str(wrong_ca)}
    distrustful = Node(dataclasses.replace(ema.config, extra_env=env))
    with pytest.raises(NodeError) as failure:
        distrustful.manage("sync_now")
    assert "CERTIFICATE_VERIFY_FAILED" in str(failure.value)


def test_pages_over_https_carry_hsts_and_secure_cookies(tls_federation):
    hub = tls_federation.hub
    answer = urllib.request.urlopen(
        f"{hub.url}/admin/login/", timeout=10, context=hub.ssl_context()
    )
    assert int(answer.headers["Strict-Transport-Security"].split("=")[1].split(";")[0]) > 0
    cookies = answer.headers.get_all("Set-Cookie")
    assert cookies and all("Secure" in cookie for cookie in cookies)


def test_a_client_without_the_ca_cannot_connect(tls_federation):
    with pytest.raises(urllib.error.URLError) as failure:
        urllib.request.urlopen(
            f"{tls_federation.hub.url}/federation/v1/node",
            timeout=10,
            context=ssl.create_default_context(),
        )
    assert "CERTIFICATE_VERIFY_FAILED" in str(failure.value)
