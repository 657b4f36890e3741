"""How complete a use-case record is, and the compliance checks a governance officer asks for.

Stored on each UseCase row when it is written (own records through registry.services, received
copies through registry.received), so that the admin can filter on them and the catalogue can
count them per agency without reading every record. `review_overdue` depends on the day, so it is
never stored: it is `next_review_on < today` (UseCase.objects.review_overdue()).
"""

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registry import reference
from registry import vocabularies as v
from registry.validation import FIELDS, is_empty, publication_gaps

# RECORD.md's unconditionally required fields (the level is not part of the content).
REQUIRED = tuple(
    name for name, field in FIELDS.items() if field.required and name != "publication_level"
)
# What a governance officer expects beyond the minimum (issue 9, item 4).
RECOMMENDED = (
    "description",
    "benefits",
    "risks_and_mitigations",
    "monitoring",
    "data_sources",
    "legal_basis",
    "next_review_on",
)
# Required fields weigh 70 points of 100 and the recommended ones 30, so a record that lacks
# something required always scores below one that lacks only recommendations.
REQUIRED_POINTS, RECOMMENDED_POINTS = 70, 30

HIGH_RISK_UNJUSTIFIED = "high_risk_unjustified"
PERSONAL_DATA_WITHOUT_DPIA = "personal_data_without_dpia"
PRODUCTION_WITHOUT_REVIEW = "production_without_review"
REVIEW_OVERDUE = "review_overdue"
FLAG_LABELS = {
    HIGH_RISK_UNJUSTIFIED: _("High risk without a justification and human oversight"),
    PERSONAL_DATA_WITHOUT_DPIA: _("Personal data without a completed DPIA"),
    PRODUCTION_WITHOUT_REVIEW: _("In production without a next review date"),
    REVIEW_OVERDUE: _("Review overdue"),
}
STORED_FLAGS = (HIGH_RISK_UNJUSTIFIED, PERSONAL_DATA_WITHOUT_DPIA, PRODUCTION_WITHOUT_REVIEW)


@dataclass(frozen=True)
class Assessment:
    gaps: dict[str, list[str]]  # field -> what publishing would refuse (empty: publishable)
    completeness: int  # 0..100, see REQUIRED_POINTS
    flags: list[str]  # STORED_FLAGS that apply, in that order


def assess(values: Mapping[str, Any], *, gaps: dict[str, list[str]] | None = None) -> Assessment:
    """Assess a record given as the model holds it or as the wire carries it. Pass `gaps` when
    they are known already (a received copy passed the validator at a shared level: none)."""
    if gaps is None:
        gaps = publication_gaps(dict(values))
    return Assessment(gaps=gaps, completeness=completeness(values, gaps), flags=flags(values))


def completeness(values: Mapping[str, Any], gaps: Mapping[str, list[str]]) -> int:
    """Points for the required fields that are filled and pass the rules, then for the
    recommended ones; a record with any gap stays below REQUIRED_POINTS + RECOMMENDED_POINTS."""
    required_ok = sum(1 for name in REQUIRED if not is_empty(values.get(name)) and name not in gaps)
    recommended = sum(1 for name in RECOMMENDED if not is_empty(values.get(name)))
    score = REQUIRED_POINTS * required_ok / len(REQUIRED)
    score += RECOMMENDED_POINTS * recommended / len(RECOMMENDED)
    if gaps:
        score = min(score, REQUIRED_POINTS - 1)
    return round(score)


def flags(values: Mapping[str, Any]) -> list[str]:
    """The compliance checks that do not depend on the day."""
    found = []
    if values.get("ai_act_risk") == v.AiActRisk.HIGH and not (
        values.get("ai_act_justification") and values.get("human_oversight")
    ):
        found.append(HIGH_RISK_UNJUSTIFIED)
    if (
        values.get("personal_data") not in (None, "", v.PersonalData.NONE)
        and values.get("dpia_status") != v.DpiaStatus.DONE
    ):
        found.append(PERSONAL_DATA_WITHOUT_DPIA)
    if values.get("stage") == v.Stage.PRODUCTION and not values.get("next_review_on"):
        found.append(PRODUCTION_WITHOUT_REVIEW)
    return found


def is_review_overdue(
    next_review_on: dt.date | str | None, stage: str, today: dt.date, *, origin: str = ""
) -> bool:
    """A review date that has passed, for a record still in use (not retired). Never for a
    reference register's record (`origin`, registry.reference): the network's checks govern its
    agencies' own records, not a public register's."""
    if not next_review_on or stage == v.Stage.RETIRED or reference.is_reference(origin):
        return False
    if isinstance(next_review_on, str):
        next_review_on = dt.date.fromisoformat(next_review_on)
    return next_review_on < today


def record_flags(use_case, today: dt.date | None = None) -> list[str]:
    """Every compliance check open on a stored record today, review_overdue included."""
    today = today or timezone.now().date()
    found = list(use_case.compliance_flags)
    if is_review_overdue(use_case.next_review_on, use_case.stage, today, origin=use_case.origin_id):
        found.append(REVIEW_OVERDUE)
    return found
