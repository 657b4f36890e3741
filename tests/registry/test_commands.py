import pytest
from django.core.management import CommandError, call_command

from registry.models import Agency, User


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


def test_create_agency_makes_this_nodes_agency_from_the_networks_list(db, settings, capsys):
    settings.NODE_AGENCY = "FR-ANSM"
    call_command("create_agency")
    agency = Agency.objects.get(code="FR-ANSM")
    assert (agency.country, agency.kind) == ("FR", "human")
    assert agency.name.startswith("Agence nationale")
    assert "Created agency FR-ANSM" in capsys.readouterr().out


def test_create_agency_then_an_admin_can_be_created_for_it(db, settings):
    settings.NODE_AGENCY = "SE-MPA"
    call_command("create_agency")
    call_command("create_agency_admin", "sven", agency="SE-MPA", password="Vx7-lock-river")
    assert User.objects.get(username="sven").agency_id == "SE-MPA"


def test_create_agency_needs_name_country_and_kind_for_an_unknown_code(db):
    with pytest.raises(CommandError, match="give --name, --country, --kind"):
        call_command("create_agency", "LU-DPM")
    assert not Agency.objects.filter(code="LU-DPM").exists()
    call_command(
        "create_agency", "LU-DPM", name="Division de la pharmacie", country="LU", kind="human"
    )
    assert Agency.objects.get(code="LU-DPM").country == "LU"


def test_create_agency_updates_only_what_is_given(db, capsys):
    call_command("create_agency", "LU-DPM", name="Old name", country="LU", kind="human")
    call_command("create_agency", "LU-DPM", name="Division de la pharmacie et des médicaments")
    agency = Agency.objects.get(code="LU-DPM")
    assert (agency.name, agency.country, agency.kind) == (
        "Division de la pharmacie et des médicaments",
        "LU",
        "human",
    )
    assert "Updated agency LU-DPM" in capsys.readouterr().out


@pytest.mark.parametrize(
    "options, field",
    [({"country": "Luxembourg"}, "country"), ({"kind": "pharmacy"}, "kind")],
)
def test_create_agency_refuses_bad_values_and_changes_nothing(db, options, field):
    call_command("create_agency", "LU-DPM", name="Division", country="LU", kind="human")
    with pytest.raises(CommandError, match=f"{field}:"):
        call_command("create_agency", "LU-DPM", **options)
    agency = Agency.objects.get(code="LU-DPM")
    assert (agency.country, agency.kind) == ("LU", "human")
