import pytest
from django.core.management import CommandError, call_command

from registry.models import User


def test_create_agency_admin_makes_a_staff_user_of_that_agency(home_agency, capsys):
    call_command("create_agency_admin", "anna", agency=home_agency.code, password="Vx7-lock-river")
    user = User.objects.get(username="anna")
    assert (user.agency_id, user.is_staff, user.is_superuser) == (home_agency.code, True, False)
    assert user.check_password("Vx7-lock-river")
    assert "Created agency admin anna" in capsys.readouterr().out


def test_create_agency_admin_refuses_an_unknown_agency(db):
    with pytest.raises(CommandError, match="No agency 'XX'"):
        call_command("create_agency_admin", "anna", agency="XX", password="Vx7-lock-river")
    assert not User.objects.exists()


def test_create_agency_admin_refuses_a_weak_password(home_agency):
    with pytest.raises(CommandError, match="too common"):
        call_command("create_agency_admin", "anna", agency=home_agency.code, password="password")
    assert not User.objects.exists()


def test_reset_feed_gives_the_feed_a_new_id(db, capsys):
    from registry import feed

    before = feed.current_feed_id()
    call_command("reset_feed")
    after = feed.current_feed_id()
    assert after != before
    assert f"from {before} to {after}" in capsys.readouterr().out
