"""A row removed from an agency's inventory file leaves the network: agency A imports a small
file made of real US inventory rows at network level, B receives the records; A imports the file
again without one row, which reports it, then with --withdraw-missing, and B drops its copy.
Real processes (the suite's shared federation), the import run as A's own manage.py command."""

import csv
from pathlib import Path

import pytest
from django.conf import settings

from federation import probe
from federation.launcher import Node
from tests.e2e.helpers import wait_until

pytestmark = pytest.mark.e2e

US_FILE = (
    Path(settings.BASE_DIR).parent
    / "shared"
    / "data"
    / ("us_omb_2025_individually_reported_AI_use_cases.csv")
)
# Two sync intervals of A and B (2 s each in the suite) and slack for a busy machine.
ARRIVAL_SECONDS = 60


def real_rows(count: int) -> tuple[list[str], list[dict]]:
    """The header and `count` deployed FDA use cases of the real file whose name is the title."""
    assert US_FILE.is_file(), f"{US_FILE} is missing: the e2e import test reads the real file."
    with US_FILE.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        rows = [
            row
            for row in reader
            if "FDA" in row["agency_bureau"]
            and row["development_stage"] == "Deployed"
            and row["use_case_name"].strip() == " ".join(row["use_case_name"].split())
            and 10 < len(row["use_case_name"]) < 100
        ]
    return reader.fieldnames, rows[:count]


def write_file(path: Path, header: list[str], rows: list[dict]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    return path


def import_file(node: Node, path: Path, *options: str) -> str:
    agency = node.config.agency
    return node.manage(
        "import_inventory",
        f"--agency={agency}",
        "--format=us-omb-2025",
        f"--contact-email=ai-registry@{agency.lower()}.example.org",
        *options,
        "--",
        str(path),
    )


def titles_at(node: Node, origin: str) -> set[str]:
    return {held.title for held in probe.use_cases(node, origin).values()}


def test_a_row_removed_from_the_file_is_reported_then_withdrawn_from_the_other_agency(
    hub, agency_a, agency_b, tmp_path
):
    header, rows = real_rows(3)
    titles = [row["use_case_name"] for row in rows]
    origin = agency_a.config.agency
    output = import_file(
        agency_a, write_file(tmp_path / "full.csv", header, rows), "--publication-level=network"
    )
    assert output.strip().splitlines()[-1] == (
        "created 3 (3 network), updated 0, unchanged 0, skipped 0"
    )
    wait_until(
        lambda: set(titles) <= titles_at(agency_b, origin),
        timeout=ARRIVAL_SECONDS,
        what="B to receive the three imported records",
    )

    smaller = write_file(tmp_path / "smaller.csv", header, rows[1:])
    output = import_file(agency_a, smaller)
    assert f"(network) {titles[0]}\n" in output
    assert output.strip().splitlines()[-1] == (
        "created 0, updated 0, unchanged 2 (2 network), skipped 0; 1 no longer in the file: "
        "run again with --withdraw-missing to withdraw them"
    )

    output = import_file(agency_a, smaller, "--withdraw-missing")
    assert output.strip().splitlines()[-1].endswith("; 1 no longer in the file: 1 withdrawn")
    wait_until(
        lambda: titles[0] not in titles_at(agency_b, origin),
        timeout=ARRIVAL_SECONDS,
        what="B to drop the withdrawn record",
    )
    assert set(titles[1:]) <= titles_at(agency_b, origin)
    withdrawn = [
        k for k, held in probe.use_cases(agency_a, origin).items() if held.title == titles[0]
    ]
    assert probe.use_cases(agency_a, origin)[withdrawn[0]].publication_level == "internal"
    assert probe.feed(hub, origin)[withdrawn[0]].deleted
