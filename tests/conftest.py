import pytest
from django.conf import settings

from catalogue import facet_index
from tests.factories import AgencyFactory, UserFactory


@pytest.fixture(autouse=True)
def fresh_facet_index():
    """Each test starts from another database state (ids and times may repeat after a rollback,
    so the catalogue stamp could too): no test counts from an index another test built."""
    facet_index.forget()
    yield
    facet_index.forget()


@pytest.fixture
def home_agency(db):
    """The agency this node runs for (settings.NODE_AGENCY)."""
    return AgencyFactory(code=settings.NODE_AGENCY, name="European Medicines Agency", country="EU")


@pytest.fixture
def other_agency(db):
    return AgencyFactory(code="DE-BFARM", name="BfArM", country="DE")


@pytest.fixture
def home_admin(home_agency):
    return UserFactory(username="home-admin", agency=home_agency)


@pytest.fixture
def other_admin(other_agency):
    return UserFactory(username="other-admin", agency=other_agency)
