"""The embedded broker writes each message atomically (config/broker.py): a worker listing the
folder never finds a message that is not whole. Messages going through it end to end are the
end-to-end tests' business: every node there runs on it."""

import json
import os
import types

import pytest

from config import broker


def test_a_message_appears_under_its_name_only_once_written_whole(tmp_path, monkeypatch):
    seen = []
    real_replace = os.replace

    def replace(partial, final):
        # What a worker listing the folder could see while the message is being written.
        seen.append(sorted(name for name in os.listdir(tmp_path) if name.endswith(".msg")))
        assert os.path.getsize(partial) > 0
        real_replace(partial, final)

    monkeypatch.setattr(broker.os, "replace", replace)
    channel = types.SimpleNamespace(data_folder_out=str(tmp_path))
    broker.Channel._put(channel, "celery", {"task": "ping"})
    assert seen == [[]], "no .msg file before the rename"
    (message,) = os.listdir(tmp_path)
    assert message.endswith(".celery.msg")
    assert json.loads((tmp_path / message).read_text()) == {"task": "ping"}


def test_the_embedded_default_uses_the_atomic_transport(settings):
    from config.celery import app

    if not settings.CELERY_BROKER_URL.startswith("filesystem://"):
        pytest.skip("this run's broker is Redis, not the file system")
    with app.connection_for_write() as conn:
        assert isinstance(conn.transport, broker.Transport)
