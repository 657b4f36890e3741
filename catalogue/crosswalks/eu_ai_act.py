"""Crosswalk to the EU AI Act database: the registration of a deployer that is a public authority
(Regulation (EU) 2024/1689, Article 49(3), Annex VIII Section C).

Only a high-risk use case is registered so (`ai_act_risk` high; NotHighRisk otherwise). Each of the
five numbered items of Section C gets the record's value, or null, and what the record still lacks
for it; docs/crosswalk-eu-ai-act.md says item by item where the values come from.

The API view at the end serves it for one visible use case
(/api/v1/use-cases/{origin}/{uid}/eu-ai-act-annex-viii.json); 409 for one that is not high-risk.
"""

from django.utils import translation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.response import Response

from catalogue import api
from catalogue.crosswalks.uk_atrs import page_url, visible_use_case
from catalogue.serializers import ProblemSerializer
from registry import vocabularies as v
from registry.models import UseCase

REGULATION = "Regulation (EU) 2024/1689 (Artificial Intelligence Act)"
ANNEX = "VIII"
SECTION = "C"
ARTICLE = "Article 49(3)"
SECTION_TITLE = (
    "Information to be submitted by deployers of high-risk AI systems in accordance with "
    "Article 49(3)"
)
# The numbered items of Section C, word for word (../shared/standards/eu-ai-act/).
ITEMS: tuple[str, ...] = (
    "The name, address and contact details of the deployer",
    "The name, address and contact details of the person submitting information on behalf of "
    "the deployer",
    "The URL of the entry of the AI system in the EU database by its provider",
    "A summary of the findings of the fundamental rights impact assessment conducted in "
    "accordance with Article 27",
    "A summary of the data protection impact assessment carried out in accordance with Article 35 "
    "of Regulation (EU) 2016/679 or Article 27 of Directive (EU) 2016/680 as specified in Article "
    "26(8) of this Regulation, where applicable",
)
LACKS_ADDRESS = "the deployer's postal address"
LACKS_CONTACT_DETAILS = (
    "the deployer's contact details beyond the functional mailbox (telephone, contact person)"
)
LACKS_MAILBOX = "a contact mailbox of the deployer (contact_email, or the agency's mailbox)"
LACKS_SUBMITTER = (
    "the name, address and contact details of the person who submits the registration on the "
    "deployer's behalf"
)
LACKS_PROVIDER_ENTRY = "the URL of the provider's entry of the AI system in the EU database"
LACKS_FRIA = "a summary of the findings of the fundamental rights impact assessment (Article 27)"
LACKS_DPIA_SUMMARY = "a summary of the data protection impact assessment, or a reference to it"
LACKS_DPIA_STATUS = "whether a data protection impact assessment was carried out (dpia_status)"
LACKS_PERSONAL_DATA = "whether the system processes personal data (personal_data)"
LACKS_DPIA_DONE = "a finished data protection impact assessment (its status is {status})"


class NotHighRisk(Exception):
    """Section C registers high-risk AI systems only."""

    def __init__(self, risk: str | None):
        self.risk = risk
        super().__init__(
            "Annex VIII Section C (Article 49(3)) registers high-risk AI systems only; this use "
            f"case's AI Act risk class is {risk or 'not stated'!r}, not 'high'."
        )


def _mailbox(use_case: UseCase) -> str:
    contact = use_case.contact_email
    return contact if "@" in contact else use_case.origin.contact_email


def _deployer(use_case: UseCase) -> tuple[dict, list[str]]:
    mailbox = _mailbox(use_case)
    value = {
        "name": use_case.organisation,  # a reference register's record: the body it names
        "agency_code": use_case.origin_id,
        "country": use_case.origin.country,
        "address": None,
        "contact_email": mailbox or None,
        "contact_page": use_case.contact_email if "@" not in use_case.contact_email else None,
    }
    lacks = [LACKS_ADDRESS, LACKS_CONTACT_DETAILS]
    if not mailbox:
        lacks.append(LACKS_MAILBOX)
    return value, lacks


def _provider_entry(use_case: UseCase) -> tuple[str | None, list[str]]:
    if use_case.eu_database_ref:
        return use_case.eu_database_ref, []
    return None, [LACKS_PROVIDER_ENTRY]


def _dpia(use_case: UseCase) -> tuple[dict | None, list[str]]:
    """Applicable when the system processes personal data; the record holds a status, not the
    summary Section C asks for."""
    personal, status = use_case.personal_data, use_case.dpia_status
    if personal is None:
        return None, [LACKS_PERSONAL_DATA]
    value = {
        "applicable": personal != v.PersonalData.NONE and status != v.DpiaStatus.NOT_REQUIRED,
        "personal_data": personal,
        "dpia_status": status,
        "summary": None,
    }
    if not value["applicable"]:
        return value, []
    if status is None:
        return value, [LACKS_DPIA_STATUS, LACKS_DPIA_SUMMARY]
    if status != v.DpiaStatus.DONE:
        label = str(v.DpiaStatus(status).label).lower()
        return value, [LACKS_DPIA_DONE.format(status=label), LACKS_DPIA_SUMMARY]
    return value, [LACKS_DPIA_SUMMARY]


def _item(number: int, value, lacks: list[str]) -> dict:
    return {"number": number, "text": ITEMS[number - 1], "value": value, "lacks": lacks}


def annex_viii_registration(use_case: UseCase, *, url: str) -> dict:
    """The Section C registration of a high-risk use case: each numbered item with the record's
    value (null when it has none) and what it lacks, then every lack in one list."""
    if use_case.ai_act_risk != v.AiActRisk.HIGH:
        raise NotHighRisk(use_case.ai_act_risk)
    with translation.override("en"):
        items = [
            _item(1, *_deployer(use_case)),
            _item(2, None, [LACKS_SUBMITTER]),
            _item(3, *_provider_entry(use_case)),
            _item(4, None, [LACKS_FRIA]),
            _item(5, *_dpia(use_case)),
        ]
    return {
        "regulation": REGULATION,
        "annex": ANNEX,
        "section": SECTION,
        "article": ARTICLE,
        "title": SECTION_TITLE,
        "source": {
            "origin": use_case.origin_id,
            "uid": str(use_case.uid),
            "version": use_case.version,
            "url": url,
            "title": use_case.title,
            "ai_act_risk": use_case.ai_act_risk,
            "ai_act_role": use_case.ai_act_role,
            "ai_act_justification": use_case.ai_act_justification or None,
        },
        "items": items,
        "lacks": [f"{item['number']}: {lack}" for item in items for lack in item["lacks"]],
    }


# ---- API --------------------------------------------------------------------------------------


class NotHighRiskProblem(exceptions.APIException):
    status_code = 409
    default_detail = "Annex VIII Section C registers high-risk AI systems only."


class AnnexViiiView(api.CatalogueView):
    @extend_schema(
        operation_id="use_cases_eu_ai_act_annex_viii",
        summary="EU AI Act database registration of a deployer (Annex VIII, Section C)",
        description="For a high-risk use case (ai_act_risk high): the information a deployer "
        "that is a public authority registers under Article 49(3), item by item (Annex VIII "
        "Section C): the record's value or null, and what the record still lacks for it, all "
        "lacks listed together at the end. 409 for a use case that is not high-risk. See "
        "docs/crosswalk-eu-ai-act.md.",
        responses={
            200: OpenApiTypes.OBJECT,
            **api.NOT_FOUND,
            (409, api.PROBLEM_CONTENT_TYPE): OpenApiResponse(
                ProblemSerializer, description="The use case is not high-risk."
            ),
            **api.PROBLEMS,
        },
    )
    def get(self, request, origin: str, uid):
        use_case = visible_use_case(request, origin, uid)
        try:
            registration = annex_viii_registration(use_case, url=page_url(request, use_case))
        except NotHighRisk as exc:
            raise NotHighRiskProblem(str(exc)) from None
        response = Response(registration)
        name = f"{use_case.origin_id}-{use_case.uid}.eu-ai-act-annex-viii.json"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
