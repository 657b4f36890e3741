"""The statistics page and /api/v1/stats/: the catalogue's filters apply to both alike, the page
says what it counts, each bar leads to the catalogue filtered to it, time runs by year or by
quarter, and a per-agency overview counts reference registers apart from the network."""

import datetime as dt
import html
import re

from django.test import Client

from catalogue import charts
from registry import vocabularies as v
from tests.catalogue.test_api import visible
from tests.factories import AgencyFactory, UseCaseFactory


def page(client, query: str = "") -> str:
    response = client.get(f"/statistics/{query}")
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def test_statistics_api_applies_the_filters_as_the_list_does(anon_client, catalogue):
    shown = [r for r in visible(catalogue, network=False) if r.origin_id == "FR-ANSM"]

    stats = anon_client.get("/api/v1/stats/", {"agency": "FR-ANSM"}).json()
    facets = anon_client.get("/api/v1/facets/", {"agency": "FR-ANSM"}).json()

    assert stats["total"] == len(shown) == facets["total"]
    assert [row["code"] for row in stats["by_agency"]] == ["FR-ANSM"]
    assert stats["by_stage"] == facets["facets"]["stage"]
    assert [row["code"] for row in stats["agencies"]] == ["FR-ANSM"]
    assert sum(stats["agencies"][0]["by_stage"].values()) == len(shown)


def test_statistics_api_refuses_a_bad_filter(anon_client, catalogue):
    response = anon_client.get("/api/v1/stats/", {"stage": "nonsense"})

    assert response.status_code == 400
    assert "stage" in response.json()["errors"]


def test_statistics_page_counts_only_the_filtered_use_cases(client, catalogue):
    shown = [r for r in visible(catalogue, network=False) if r.origin_id == "FR-ANSM"]
    everything = len(visible(catalogue, network=False))

    text = page(client, "?agency=FR-ANSM")

    assert f"Counting {len(shown)} use cases you can see that match:" in text
    assert "Agency: ANSM (FR-ANSM)" in text
    assert f"<title>FR-ANSM: {len(shown)}</title>" in text
    assert "<title>EMA:" not in text
    assert f"Counting all {everything} use cases you can see." in page(client)


def test_statistics_page_applies_the_search_too(client, catalogue):
    text = page(client, "?search=chatbot")

    assert "Search: “chatbot”" in text
    assert "Counting 0 use cases" in text  # chatbots are drafts and internal records here


def test_statistics_page_refuses_a_bad_filter_with_the_catalogues_400(client, catalogue):
    response = client.get("/statistics/?stage=nonsense")

    assert response.status_code == 400
    assert "stage" in response.content.decode()


def test_statistics_page_refuses_an_unknown_parameter_as_the_catalogue_does(client, catalogue):
    response = client.get("/statistics/?stages=pilot")

    assert response.status_code == 400
    assert "stages" in response.content.decode()


def test_each_bar_links_to_the_catalogue_filtered_to_it_keeping_the_filters(client, catalogue):
    text = page(client, "?agency=FR-ANSM")

    assert '<g class="link" data-href="/?agency=FR-ANSM&stage=production">' in text
    assert "stage=pilot" not in text  # FR-ANSM has no pilot: its bar leads nowhere
    assert '<th scope="row"><a href="/?agency=FR-ANSM&ai_act_risk=high">High risk</a></th>' in text
    assert '<a href="/?agency=FR-ANSM&techniques=generative_llm">' in text
    assert '<a href="/?agency=FR-ANSM">See these use cases in the catalogue</a>' in text


def test_columns_over_time_link_to_their_period(client, catalogue):
    text = page(client)

    # The test catalogue starts use cases through 2023, month by month: four quarters.
    first_quarter = "/?started_on_after=2023-01-01&started_on_before=2023-03-31"
    assert f'<th scope="row"><a href="{first_quarter}">2023 Q1</a></th>' in text
    assert re.search(r"<title>2023 Q4: \d+</title>", text)
    assert re.search(r'<a href="/\?operational_since_before=2024-\d\d-\d\d">', text)  # in total


def test_a_long_span_is_shown_by_year_with_every_label_inside_the_drawing():
    months = [{"month": "1990-03", "count": 1}, {"month": "2025-11", "count": 4}]

    periods = charts.time_axis(months)
    svg = str(charts.column_chart(periods, title="t", chart_id="c"))

    assert [p.label for p in periods] == [str(year) for year in range(1990, 2026)]
    assert (periods[0].value, periods[-1].value) == (1, 4)
    labels = re.findall(r'<text x="([\d.]+)" y="[\d.]+" text-anchor="middle">(\d{4})</text>', svg)
    assert labels[-1][1] == "2025"  # the latest period is always labelled
    half_label = 4 * charts.CHARACTER_WIDTH / 2
    assert all(float(x) + half_label <= charts.WIDTH for x, _ in labels)
    xs = [float(x) for x, _ in labels]
    assert all(b - a >= 4 * charts.CHARACTER_WIDTH for a, b in zip(xs, xs[1:], strict=False))


def test_a_short_span_is_shown_by_quarter_and_the_cumulative_view_adds_up():
    months = [{"month": "2024-02", "count": 1}, {"month": "2024-03", "count": 2},
              {"month": "2025-01", "count": 4}]  # fmt: skip

    periods = charts.time_axis(months)

    assert [(p.label, p.value) for p in periods] == [
        ("2024 Q1", 3), ("2024 Q2", 0), ("2024 Q3", 0), ("2024 Q4", 0), ("2025 Q1", 4)
    ]  # fmt: skip
    assert (periods[0].start, periods[-1].end) == (dt.date(2024, 1, 1), dt.date(2025, 3, 31))
    assert [p.value for p in charts.cumulative(periods)] == [3, 3, 3, 3, 7]


def test_overview_gives_each_agency_its_stages_risks_last_change_and_last_sync(
    client, catalogue, settings
):
    from sync.models import Peer, SyncRun

    settings.NODE_ROLE = "hub"  # only the hub syncs with every agency

    peer = Peer.objects.create(name="ansm", url="http://127.0.0.1:1/", token="t", agency="FR-ANSM")
    finished = dt.datetime(2026, 3, 4, 5, 6, tzinfo=dt.UTC)
    SyncRun.objects.create(peer=peer, direction="pull", finished=finished)
    shown = [r for r in visible(catalogue, network=False) if r.origin_id == "FR-ANSM"]
    latest = max(r.modified for r in shown)
    stages = {s: sum(r.stage == s for r in shown) for s in v.Stage.values}

    text = page(client)
    row = re.search(r'<tr data-agency="FR-ANSM">(.*?)</tr>', text, re.S).group(1)

    assert f'<a href="/?agency=FR-ANSM" aria-label="{len(shown)} use cases of ANSM' in row
    for stage, n in stages.items():
        label = v.Stage(stage).label
        if n:
            assert f'<a href="/?agency=FR-ANSM&stage={stage}">{label} {n}</a>' in row
        else:
            assert f"stage={stage}" not in row
    assert f'datetime="{latest.isoformat()}"' in row
    assert 'datetime="2026-03-04T05:06:00+00:00">4 March 2026, 05:06 UTC</time>' in row
    assert '<th scope="col">Last sync</th>' in text


def test_on_an_agency_node_the_overview_says_when_each_agencys_records_last_arrived(
    client, catalogue
):
    """An agency node talks to the hub alone: its "Last sync" column would always be empty, so
    it shows when this node last received each agency's records (they come through the hub)."""
    shown = [r for r in visible(catalogue, network=False) if r.origin_id == "FR-ANSM"]
    arrived = dt.datetime(2026, 11, 29, 18, 52, 7, tzinfo=dt.UTC)
    type(shown[0]).objects.filter(pk=shown[0].pk).update(received_at=arrived)

    text = page(client)
    row = re.search(r'<tr data-agency="FR-ANSM">(.*?)</tr>', text, re.S).group(1)

    assert '<th scope="col">Last received here</th>' in text
    assert "Last received here: when this node last received that agency's records" in text
    assert 'datetime="2026-11-29T18:52:07+00:00">29 November 2026, 18:52 UTC</time>' in row


def test_statistics_accept_and_ignore_the_catalogues_paging_and_sorting(client, catalogue):
    plain = page(client, "?agency=FR-ANSM")
    paged = page(client, "?agency=FR-ANSM&sort=title&page=2&cursor=abc&ordering=title")

    counted = re.search(r"Counting \d+ use cases", plain).group(0)
    assert counted in paged


def test_an_unknown_parameter_lists_the_allowed_names_once(client, catalogue):
    response = client.get("/statistics/?foo=1&bar=2")

    text = response.content.decode()
    assert response.status_code == 400
    assert text.count("Allowed:") == 1
    assert "foo" in text and "bar" in text


def test_reference_registers_are_counted_apart_from_the_network(client, anon_client, catalogue):
    register = AgencyFactory(
        code="REF-US-OMB", name="US federal AI inventory", country="US",
        kind=v.AgencyKind.REFERENCE_REGISTER,
    )  # fmt: skip
    UseCaseFactory(origin=register, publication_level="public", title="FDA review assistant")

    stats = anon_client.get("/api/v1/stats/").json()
    text = page(client)

    assert stats["reference_total"] == 1
    assert [row["reference"] for row in stats["by_agency"] if row["code"] == "REF-US-OMB"] == [True]
    assert "Of these, 1 comes from a public register outside the network" in text
    network = re.search(r'id="overview-network-table">(.*?)</table>', text, re.S).group(1)
    others = re.search(r'id="overview-reference-table">(.*?)</table>', text, re.S).group(1)
    assert "REF-US-OMB" in others and "REF-US-OMB" not in network
    assert "FR-ANSM" in network


def test_members_statistics_count_network_records_too(member_client, catalogue):
    member = member_client.get("/api/v1/stats/", {"agency": "DE-BFARM"}).json()
    anonymous = Client().get("/api/v1/stats/", {"agency": "DE-BFARM"}).json()

    assert member["total"] == len(
        [r for r in visible(catalogue, network=True) if r.origin_id == "DE-BFARM"]
    )
    assert member["total"] > anonymous["total"]


def test_the_catalogue_links_the_statistics_of_its_filters_without_paging(client, catalogue):
    text = html.unescape(
        client.get(
            "/", {"agency": "FR-ANSM", "search": "catalogue", "sort": "title"}
        ).content.decode()
    )

    link = re.search(r'<a href="([^"]+)">Statistics of these use cases</a>', text).group(1)
    assert link == "/statistics/?agency=FR-ANSM&search=catalogue"
    assert client.get(link).status_code == 200
