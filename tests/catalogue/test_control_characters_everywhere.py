"""A control character in any query input is named, never echoed, wherever it comes in: a
filter value on the API and a webhook subscription's search (catalogue.query_text; issue 15.5);
and record text is shown as text, escaped once."""

import pytest

from webhooks import services as webhooks

pytestmark = pytest.mark.django_db


def test_a_nul_in_a_filter_value_is_named_not_called_too_long(client):
    answer = client.get("/api/v1/use-cases/", {"agency": "EMA\x00"})
    assert answer.status_code == 400
    body = answer.content.decode()
    assert "control character (U+0000)" in body
    assert "\x00" not in body and "\\u0000" not in body
    assert "too long" not in body


def test_a_webhook_subscription_names_a_control_character_in_its_search():
    errors = webhooks.filter_errors("search=signal%00detection", network=False)
    assert errors and "U+0000" in errors[0]
    assert "\x00" not in errors[0]
    assert "500 characters" not in errors[0]


def test_paragraphs_of_a_record_are_paragraphs_on_its_page_escaped_once(client):
    """Multi-line text becomes <p> paragraphs; its own characters are escaped exactly once."""
    from tests.factories import UseCaseFactory

    use_case = UseCaseFactory(
        publication_level="public",
        description="Erster Absatz.\n\nZweiter Absatz mit R&D <b>fett</b>.",
    )
    page = client.get(f"/use-cases/{use_case.origin_id}/{use_case.uid}/").content.decode()
    assert "<p>Erster Absatz.</p>" in page
    assert "<p>Zweiter Absatz mit R&amp;D &lt;b&gt;fett&lt;/b&gt;.</p>" in page
    assert "&lt;p&gt;" not in page and "&amp;amp;" not in page


def test_a_missing_english_title_of_a_dutch_record_is_shown_as_not_stated(client):
    from tests.factories import UseCaseFactory

    use_case = UseCaseFactory(
        publication_level="public", language="nl", title="TVL Risicomodel", title_en=""
    )
    page = client.get(f"/use-cases/{use_case.origin_id}/{use_case.uid}/").content.decode()
    not_stated = page.split("Not stated:</strong>", 1)[1].split("</p>", 1)[0]
    assert "English title" in not_stated
