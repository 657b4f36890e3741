"""Completeness and compliance in the catalogue: per record in the API and on the use-case page,
per agency and per AI Act risk class in /api/v1/stats/, on the agency page and on the statistics
page; review_overdue is computed for today; visitors count only what they may see."""

import datetime as dt
import re
from statistics import mean

import pytest
from django.conf import settings
from django.utils import timezone

from registry import quality, services
from registry import vocabularies as v
from registry.models import FeedEntry
from tests.factories import AgencyFactory, UseCaseFactory

FLAGS = list(quality.FLAG_LABELS)


def no_flags(**counts) -> dict[str, int]:
    return {code: counts.get(code, 0) for code in FLAGS}


@pytest.fixture
def records(db):
    """Records that each fail one check (or none), at two agencies and every level."""
    home = AgencyFactory(code=settings.NODE_AGENCY, name="European Medicines Agency", country="EU")
    other = AgencyFactory(code="DE-BFARM", name="BfArM", country="DE")
    today = timezone.localdate()
    copy = {"origin": other, "received_from": "EMRN-HUB", "received_at": timezone.now()}
    return {
        "high": UseCaseFactory(
            origin=home, title="High risk, unjustified", publication_level="public",
            ai_act_risk="high", ai_act_justification="",
        ),
        "production": UseCaseFactory(
            origin=home, title="In production, no review", publication_level="public",
            stage="production", operational_since=dt.date(2024, 1, 10), next_review_on=None,
        ),
        "no_dpia": UseCaseFactory(
            origin=home, title="Personal data, DPIA planned", publication_level="network",
            personal_data="personal", dpia_status="planned",
        ),
        "overdue": UseCaseFactory(
            **copy, title="Review overdue", publication_level="public",
            next_review_on=today - dt.timedelta(days=1),
            risks_and_mitigations="Checked weekly.", monitoring="Monthly sample.",
        ),
        "retired": UseCaseFactory(
            **copy, title="Retired, old review date", publication_level="public",
            stage="retired", retired_on=dt.date(2025, 6, 1),
            next_review_on=today - dt.timedelta(days=30),
        ),
        "draft": UseCaseFactory(
            origin=home, title="Draft, high risk", publication_level="draft", ai_act_risk="high",
            next_review_on=today - dt.timedelta(days=3),
        ),
    }  # fmt: skip


def mean_of(*rows) -> float:
    return round(mean(row.completeness for row in rows), 1)


# ---- per record in the API ------------------------------------------------------------------


def test_each_listed_use_case_carries_its_completeness_and_compliance(anon_client, records):
    body = anon_client.get("/api/v1/use-cases/").json()

    shown = {item["title"]: item for item in body["results"]}
    assert set(shown) == {
        "High risk, unjustified",
        "In production, no review",
        "Review overdue",
        "Retired, old review date",
    }
    assert shown["High risk, unjustified"]["compliance"] == ["high_risk_unjustified"]
    assert shown["In production, no review"]["compliance"] == ["production_without_review"]
    assert shown["Review overdue"]["compliance"] == ["review_overdue"]
    assert shown["Retired, old review date"]["compliance"] == []
    for title, item in shown.items():
        row = next(r for r in records.values() if r.title == title)
        assert item["completeness"] == row.completeness


def test_the_detail_carries_completeness_and_compliance(member_client, records):
    row = records["no_dpia"]

    item = member_client.get(f"/api/v1/use-cases/{row.origin_id}/{row.uid}/").json()

    assert item["completeness"] == row.completeness
    assert 0 < item["completeness"] < 100
    assert item["compliance"] == ["personal_data_without_dpia"]


def test_a_more_complete_record_scores_higher(member_client, records):
    """The overdue record fills two recommended fields more than the others."""
    scores = {
        item["title"]: item["completeness"]
        for item in member_client.get("/api/v1/use-cases/").json()["results"]
    }

    assert scores["Review overdue"] > scores["Personal data, DPIA planned"]


@pytest.mark.parametrize(
    ("days", "overdue"), [(-1, True), (0, False), (1, False)], ids=["past", "today", "future"]
)
def test_a_review_is_overdue_only_once_its_date_has_passed(anon_client, records, days, overdue):
    row = records["overdue"]
    row.next_review_on = timezone.localdate() + dt.timedelta(days=days)
    row.save()

    item = anon_client.get(f"/api/v1/use-cases/{row.origin_id}/{row.uid}/").json()

    assert ("review_overdue" in item["compliance"]) is overdue


def test_a_review_date_passing_overnight_makes_the_record_overdue(
    anon_client, records, monkeypatch
):
    row = records["production"]
    row.next_review_on = timezone.localdate() + dt.timedelta(days=1)
    row.save()
    url = f"/api/v1/use-cases/{row.origin_id}/{row.uid}/"
    assert anon_client.get(url).json()["compliance"] == []
    tomorrow = timezone.localdate() + dt.timedelta(days=2)
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: tomorrow)

    item = anon_client.get(url, {"fresh": "1"}).json()  # a new URL: not the cached answer

    assert item["compliance"] == ["review_overdue"]


def test_completeness_and_compliance_stay_off_the_federation_wire(home_agency):
    use_case = UseCaseFactory.build(origin=home_agency, publication_level="network")
    services.save_use_case(use_case)

    entry = FeedEntry.objects.get(uid=use_case.uid)

    assert use_case.completeness > 0
    assert not {"completeness", "compliance", "compliance_flags", "gaps"} & set(entry.record)


def test_the_schema_documents_the_new_fields_as_read_only(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    use_case = schema["components"]["schemas"]["UseCase"]["properties"]
    assert use_case["completeness"]["type"] == "integer"
    assert use_case["completeness"]["readOnly"] is True
    assert use_case["compliance"]["readOnly"] is True
    enum = use_case["compliance"]["items"]["$ref"].rsplit("/", 1)[-1]
    assert set(schema["components"]["schemas"][enum]["enum"]) == set(FLAGS)
    assert "quality" in schema["components"]["schemas"]["Stats"]["properties"]


# ---- per agency and per risk class in /api/v1/stats/ ------------------------------------------


def test_stats_count_quality_per_agency_over_public_records_for_anonymous_visitors(
    anon_client, records
):
    r = records

    body = anon_client.get("/api/v1/stats/").json()["quality"]

    assert body["by_agency"] == [
        {
            "code": "DE-BFARM",
            "name": "BfArM",
            "count": 2,
            "mean_completeness": mean_of(r["overdue"], r["retired"]),
            "flags": no_flags(review_overdue=1),
        },
        {
            "code": settings.NODE_AGENCY,
            "name": "European Medicines Agency",
            "count": 2,
            "mean_completeness": mean_of(r["high"], r["production"]),
            "flags": no_flags(high_risk_unjustified=1, production_without_review=1),
        },
    ]
    assert body["overall"] == {
        "count": 4,
        "mean_completeness": mean_of(r["high"], r["production"], r["overdue"], r["retired"]),
        "flags": no_flags(high_risk_unjustified=1, production_without_review=1, review_overdue=1),
    }


def test_stats_count_network_records_for_members(member_client, records):
    r = records

    body = member_client.get("/api/v1/stats/").json()["quality"]

    home = next(row for row in body["by_agency"] if row["code"] == settings.NODE_AGENCY)
    assert home["count"] == 3
    assert home["mean_completeness"] == mean_of(r["high"], r["production"], r["no_dpia"])
    assert home["flags"] == no_flags(
        high_risk_unjustified=1, production_without_review=1, personal_data_without_dpia=1
    )


def test_stats_count_quality_per_risk_class(anon_client, records):
    r = records

    by_risk = anon_client.get("/api/v1/stats/").json()["quality"]["by_risk"]

    assert list(by_risk) == list(v.AiActRisk.values)
    assert by_risk["high"] == {
        "count": 1,
        "mean_completeness": float(r["high"].completeness),
        "flags": no_flags(high_risk_unjustified=1),
    }
    assert by_risk["minimal"] == {
        "count": 3,
        "mean_completeness": mean_of(r["production"], r["overdue"], r["retired"]),
        "flags": no_flags(production_without_review=1, review_overdue=1),
    }
    assert by_risk["limited"] == {"count": 0, "mean_completeness": None, "flags": no_flags()}


def test_stats_quality_follows_the_filters(anon_client, records):
    body = anon_client.get("/api/v1/stats/", {"agency": "DE-BFARM"}).json()["quality"]

    assert [row["code"] for row in body["by_agency"]] == ["DE-BFARM"]
    assert body["overall"]["flags"] == no_flags(review_overdue=1)


def test_stats_quality_takes_two_queries(anon_client, records, django_assert_max_num_queries):
    from catalogue import counts, selectors

    qs = selectors.visible_use_cases(user=None)
    with django_assert_max_num_queries(2):
        counts.quality_stats(qs, today=timezone.localdate())


# ---- pages ------------------------------------------------------------------------------------


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def section(html: str, heading_id: str) -> str:
    start = html.index(f'id="{heading_id}"')
    return html[start : html.index("</section>", start)]


def test_the_agency_page_shows_mean_completeness_and_flag_counts(client, records):
    r = records

    html = client.get(f"/agencies/{settings.NODE_AGENCY}/").content.decode()

    part = section(html, "quality-heading")
    text = text_of(part)
    assert f"{mean_of(r['high'], r['production']):.1f} / 100" in text
    assert "over 2 use cases you can see" in text
    for code, n in no_flags(high_risk_unjustified=1, production_without_review=1).items():
        label = str(quality.FLAG_LABELS[code])
        assert re.search(rf'data-flag="{code}"><th scope="row">{re.escape(label)}</th>'
                         rf'<td class="num">{n}</td>', part), code  # fmt: skip
    assert "<caption" in part
    assert 'href="/statistics/#quality-by-agency"' in part


def test_the_agency_page_counts_network_records_for_members(client, records, home_admin):
    client.force_login(home_admin)

    part = section(
        client.get(f"/agencies/{settings.NODE_AGENCY}/").content.decode(), "quality-heading"
    )

    assert "over 3 use cases you can see" in text_of(part)
    assert re.search(r'data-flag="personal_data_without_dpia">.*?<td class="num">1</td>', part)


def test_the_use_case_page_shows_its_score_and_flags_near_the_end(client, records):
    row = records["overdue"]

    html = client.get(f"/use-cases/{row.origin_id}/{row.uid}/").content.decode()

    part = section(html, "quality-heading")
    assert f'<span class="score">{row.completeness}</span> / 100' in part
    assert f'data-flag="review_overdue">{quality.FLAG_LABELS["review_overdue"]}</li>' in part
    assert html.index('id="similar-heading"') < html.index('id="quality-heading"')


def test_the_use_case_page_says_when_every_check_passes(client, records):
    row = records["retired"]

    part = section(
        client.get(f"/use-cases/{row.origin_id}/{row.uid}/").content.decode(), "quality-heading"
    )

    assert "Passes every compliance check." in part
    assert "data-flag" not in part


def test_the_statistics_page_has_accessible_tables_per_agency_and_risk_class(client, records):
    r = records

    html = client.get("/statistics/").content.decode()

    part = section(html, "quality-heading")
    assert part.count("<table") == 2
    assert 'caption id="quality-by-agency"' in part
    assert 'caption id="quality-by-risk"' in part
    assert part.count('<th scope="col"') == 2 * (3 + len(FLAGS))
    de = re.search(r'<tr data-agency="DE-BFARM">(.*?)</tr>', part, re.S).group(1)
    assert '<th scope="row">' in de
    cells = re.findall(r'<td class="num"[^>]*>([^<]*)</td>', de)
    expected_flags = no_flags(review_overdue=1)
    assert cells == ["2", f"{mean_of(r['overdue'], r['retired']):.1f}"] + [
        str(expected_flags[code]) for code in FLAGS
    ]
    high = re.search(r'<tr data-risk="high">(.*?)</tr>', part, re.S).group(1)
    assert "High risk" in high
    assert re.findall(r'<td class="num"[^>]*>([^<]*)</td>', high)[0] == "1"
    limited = re.search(r'<tr data-risk="limited">(.*?)</tr>', part, re.S).group(1)
    assert re.findall(r'<td class="num"[^>]*>([^<]*)</td>', limited)[:2] == ["0", "—"]


def test_the_statistics_page_counts_only_public_records_for_anonymous_visitors(
    client, records, home_admin
):
    anonymous = section(client.get("/statistics/").content.decode(), "quality-heading")
    client.force_login(home_admin)
    member = section(client.get("/statistics/").content.decode(), "quality-heading")

    def home_count(part: str) -> str:
        row = re.search(rf'<tr data-agency="{settings.NODE_AGENCY}">(.*?)</tr>', part, re.S)
        return re.findall(r'<td class="num"[^>]*>([^<]*)</td>', row.group(1))[0]

    assert home_count(anonymous) == "2"
    assert home_count(member) == "3"
    assert "Draft, high risk" not in member


def test_the_agency_list_shows_mean_completeness(client, records):
    r = records

    html = client.get("/agencies/").content.decode()

    row = re.search(
        r"<tr>\s*<th scope=\"row\"><a href=\"/agencies/DE-BFARM/\">(.*?)</tr>", html, re.S
    )
    assert f'<td class="num">{mean_of(r["overdue"], r["retired"]):.1f}</td>' in row.group(1)


def test_cached_stats_count_a_review_that_fell_overdue_overnight(
    member_client, records, monkeypatch
):
    row = records["high"]
    row.next_review_on = timezone.localdate() + dt.timedelta(days=1)
    row.save()
    before = member_client.get("/api/v1/stats/").json()["quality"]["overall"]["flags"]
    tomorrow = timezone.localdate() + dt.timedelta(days=2)
    monkeypatch.setattr(timezone, "localdate", lambda *args, **kwargs: tomorrow)

    after = member_client.get("/api/v1/stats/").json()["quality"]["overall"]["flags"]

    assert before["review_overdue"] == 1
    assert after["review_overdue"] == 2
