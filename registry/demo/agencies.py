"""The realistic demo agencies of RECORD.md: code, name, country (ISO 3166, EU for EMA), kind,
and the language their own records are written in."""

from typing import NamedTuple


class DemoAgency(NamedTuple):
    code: str
    name: str
    country: str
    kind: str
    languages: tuple[str, ...]  # languages of the agency's own records besides English


AGENCIES = [
    DemoAgency("EMA", "European Medicines Agency", "EU", "ema", ("de", "fr", "nl")),
    DemoAgency(
        "DE-BFARM",
        "Bundesinstitut für Arzneimittel und Medizinprodukte",
        "DE",
        "human",
        ("de",),
    ),
    DemoAgency("DE-PEI", "Paul-Ehrlich-Institut", "DE", "human_and_veterinary", ("de",)),
    DemoAgency(
        "FR-ANSM",
        "Agence nationale de sécurité du médicament et des produits de santé",
        "FR",
        "human",
        ("fr",),
    ),
    DemoAgency(
        "NL-CBG-MEB",
        "College ter Beoordeling van Geneesmiddelen (Medicines Evaluation Board)",
        "NL",
        "human_and_veterinary",
        ("nl",),
    ),
    DemoAgency(
        "ES-AEMPS",
        "Agencia Española de Medicamentos y Productos Sanitarios",
        "ES",
        "human_and_veterinary",
        (),
    ),
    DemoAgency("IT-AIFA", "Agenzia Italiana del Farmaco", "IT", "human", ()),
    DemoAgency(
        "SE-MPA",
        "Läkemedelsverket (Swedish Medical Products Agency)",
        "SE",
        "human_and_veterinary",
        (),
    ),
    DemoAgency(
        "DK-DKMA",
        "Lægemiddelstyrelsen (Danish Medicines Agency)",
        "DK",
        "human_and_veterinary",
        (),
    ),
    DemoAgency("IE-HPRA", "Health Products Regulatory Authority", "IE", "human_and_veterinary", ()),
    DemoAgency(
        "BE-FAMHP",
        "Federal Agency for Medicines and Health Products (FAMHP / FAGG / AFMPS)",
        "BE",
        "human_and_veterinary",
        ("nl", "fr"),
    ),
    DemoAgency(
        "AT-BASG",
        "Bundesamt für Sicherheit im Gesundheitswesen",
        "AT",
        "human_and_veterinary",
        ("de",),
    ),
    DemoAgency(
        "PL-URPL",
        "Urząd Rejestracji Produktów Leczniczych, Wyrobów Medycznych i Produktów Biobójczych",
        "PL",
        "human_and_veterinary",
        (),
    ),
]
BY_CODE = {agency.code: agency for agency in AGENCIES}


def describe(code: str) -> DemoAgency:
    """A demo agency by code; a node whose code is not in the list gets a plain entry for itself."""
    if code in BY_CODE:
        return BY_CODE[code]
    country = code[:2] if len(code) > 2 and code[2] == "-" and code[:2].isalpha() else "EU"
    return DemoAgency(code, f"{code} (this node)", country, "human_and_veterinary", ())
