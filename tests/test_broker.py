"""The embedded broker writes each message atomically (config/broker.py): a worker listing the
folder never finds a message that is not whole."""

import os

import pytest
from kombu import Connection

from config import broker


def connection(folder) -> Connection:
    options = {
        "data_folder_in": str(folder),
        "data_folder_out": str(folder),
        "control_folder": str(folder / "control"),
    }
    return Connection(
        "filesystem://", transport="config.broker:Transport", transport_options=options
    )


def test_a_message_appears_under_its_name_only_once_written_whole(tmp_path, monkeypatch):
    seen = []
    real_replace = os.replace

    def replace(partial, final):
        # What a worker listing the folder could see while the message is being written.
        seen.append(sorted(name for name in os.listdir(tmp_path) if name.endswith(".msg")))
        assert os.path.getsize(partial) > 0
        real_replace(partial, final)

    monkeypatch.setattr(broker.os, "replace", replace)
    with connection(tmp_path) as conn:
        queue = conn.SimpleQueue("celery")
        queue.put({"task": "ping"})
        assert seen == [[]], "no .msg file before the rename"
        assert queue.get(timeout=1).payload == {"task": "ping"}
        queue.close()
    assert not [name for name in os.listdir(tmp_path) if name.endswith(".part")]


def test_the_embedded_default_uses_the_atomic_transport(settings):
    from config.celery import app

    if not settings.CELERY_BROKER_URL.startswith("filesystem://"):
        pytest.skip("this run's broker is Redis, not the file system")
    with app.connection_for_write() as conn:
        assert isinstance(conn.transport, broker.Transport)
