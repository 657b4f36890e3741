"""Keyword rules that place free text of an inventory in our vocabularies (RECORD.md).

The sources have no field for regulatory processes, outputs or (in the Dutch register) AI
techniques; these rules read names and descriptions, in English and Dutch. They are deliberately
conservative: no match gives the vocabulary's `other`, never a guess.
"""

import re

# (pattern, code): word-start matches, case-insensitive; the first patterns win for display order.
PROCESS_RULES = [
    (
        r"adverse (drug )?event|pharmacovigilance|drug safety|faers|vaers|post-?market|"
        r"signal detect",
        "pharmacovigilance",
    ),
    (r"icsr|individual case safety|case reports?\b|medwatch", "icsr_processing"),
    (r"inspect", "inspections"),
    (r"clinical (trial|stud)", "clinical_trials"),
    (
        r"drug application|premarket|pre-market|510\(k\)|marketing authori|new drug|"
        r"biologics license",
        "marketing_authorisation",
    ),
    (r"variation|manufacturing supplement", "variations"),
    (r"medical devices?|cdrh|hulpmiddel", "medical_devices"),
    (r"shortage|tekort", "shortages"),
    (
        r"drug label|labeling|package insert|smpc|product information|bijsluiter",
        "product_information",
    ),
    (r"regulatory science|toxicolog|pharmacokinetic|bioequivalen", "regulatory_science"),
    (r"translat|vertal", "communication_translation"),
]
# US topic areas that are an agency's own administration.
CORPORATE_TOPICS = {
    "admin functions",
    "administrative functions",
    "hr",
    "it",
    "cybersecurity",
    "procurement and finance mgmt",
}

OUTPUT_RULES = [
    (r"predict|forecast|voorspel|prognos|estimat|risk score|risicoscore", "prediction"),
    (
        r"classif|categori|detect|identif|triage|herken|sorteer|indeling|diagnos|signaler",
        "classification",
    ),
    (r"recommend|suggest|prioriti|advie|aanbevel|voorschrijv|voorstel", "recommendation"),
    (r"generat|draft|summar|chatbot|respons|samenvat", "generated_content"),
    (r"extract|transcri|ocr|anonymi|geanonimiseerd", "extraction"),
    (r"decisions?(?![- ]support| making support)|besluit", "decision"),
]

TECHNIQUE_RULES = [
    (
        r"generative|gen ?ai|\bllm|large language|gpt|chatgpt|copilot|gemini|claude",
        "generative_llm",
    ),
    (r"agent", "agentic"),
    (r"natural language|\bnlp|text (mining|analy)|tekstanalyse|naamherkenning|taal", "nlp"),
    (
        r"computer vision|image|imagery|beeld|camera|foto|object ?herkenning|gezicht|vision|ocr",
        "computer_vision",
    ),
    (r"speech|transcri|spraak|voice", "speech"),
    (
        r"optimi[sz]|optimalis|linear programming|lineair programming|scheduling|roostering",
        "optimisation",
    ),
    (r"rule[- ]?based|regel(s)?gebaseerd|op regels|beslisboom|decision tree", "rule_based"),
    (
        r"machine learning|\bml\b|zelflerend|supervised|deep learning|neural|regressi|"
        r"random forest|gradient boost|lstm|predictive model|voorspelmodel|clustering",
        "machine_learning",
    ),
]


def _matches(rules, text: str) -> list[str]:
    found = []
    for pattern, code in rules:
        if code not in found and re.search(rf"(?<!\w)(?:{pattern})", text, re.IGNORECASE):
            found.append(code)
    return found


def processes(text: str, *, topic: str = "") -> list[str]:
    found = _matches(PROCESS_RULES, text)
    if topic.casefold() in CORPORATE_TOPICS:
        found.append("corporate_services")
    return found or ["other"]


def outputs(text: str) -> list[str]:
    return _matches(OUTPUT_RULES, text)


def techniques(text: str) -> list[str]:
    return _matches(TECHNIQUE_RULES, text)
