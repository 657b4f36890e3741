import pytest

import federation.__main__ as main


class FakeNode:
    class config:
        agency = "EMA"
        role = "agency"


class FakeFederation:
    nodes = {"EMA": FakeNode()}


def test_ctrl_c_during_a_progress_probe_is_not_swallowed(monkeypatch):
    """The probe tolerates any error of a busy database, but never the stop signal."""

    def interrupted(node):
        raise main.Stop()

    monkeypatch.setattr(main.probe, "counts", interrupted)
    with pytest.raises(main.Stop):
        main.progress_line(FakeFederation())


def test_a_failing_probe_is_shown_and_watching_goes_on(monkeypatch):
    def locked(node):
        raise RuntimeError("database is locked")

    monkeypatch.setattr(main.probe, "counts", locked)
    assert "EMA: (RuntimeError)" in main.progress_line(FakeFederation())
