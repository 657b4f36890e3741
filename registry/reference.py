"""Reference registers: public AI inventories of bodies outside the network (the US federal
inventory, the Dutch algorithm register), held beside the agencies' records so that an agency
finds what the FDA or a Dutch ministry runs, and never shown as an agency of the network.

Each register has a reserved origin code (REFERENCE_PREFIX + a short name). Only the hub writes
records under it (registry.importers.reference_register), serves them on its feed like any
other record, and refuses them from any peer; agencies receive them read-only. A reference
record's `business_unit` names the organisation that runs the system ('HHS / FDA / CDER',
'Gemeente Utrecht'); it is validated with what such a register really has
(registry.validation, `reference=True`). Design and rules: docs/protocol.md, "Reference
registers".

Pure data and predicates, so that the validator, the models and the receiver can use them.
"""

from dataclasses import dataclass

REFERENCE_PREFIX = "REF-"


@dataclass(frozen=True)
class Register:
    key: str  # what `import_reference_register --register` takes
    code: str  # the reserved origin code of its records
    name: str  # the register's name, as pages, cards and exports show it
    short: str  # a short label for cards: "US federal AI inventory — HHS / FDA"
    country: str  # ISO 3166 alpha-2
    format: str  # registry.importers format that reads its file
    url: str  # where the register is published


REGISTERS = {
    "us-omb-2025": Register(
        key="us-omb-2025",
        code="REF-US-OMB",
        name="US Federal AI Use Case Inventory (OMB, 2025)",
        short="US federal AI inventory",
        country="US",
        format="us-omb-2025",
        url="https://github.com/ombegov/2025-Federal-Agency-AI-Use-Case-Inventory",
    ),
    "nl-algorithm-register": Register(
        key="nl-algorithm-register",
        code="REF-NL-AR",
        name="Dutch Algorithm Register (Algoritmeregister)",
        short="Dutch algorithm register",
        country="NL",
        format="nl-register",
        url="https://algoritmes.overheid.nl/",
    ),
}
BY_CODE = {register.code: register for register in REGISTERS.values()}


def is_reference(code: str | None) -> bool:
    """Whether an origin code is reserved for a reference register (never an agency's)."""
    return bool(code) and code.startswith(REFERENCE_PREFIX)


def register_for(code: str) -> Register | None:
    return BY_CODE.get(code)


def label(code: str, organisation: str = "") -> str:
    """'US federal AI inventory — HHS / FDA': the register and the body that runs the system."""
    register = register_for(code)
    name = register.short if register else code
    return f"{name} — {organisation}" if organisation else name


def written_here(code: str) -> bool:
    """Whether this node is where records of `code` are written: its own agency's, and on the
    hub the reference registers' (only the hub imports them; every other node holds copies)."""
    from django.conf import settings

    if code == settings.NODE_AGENCY:
        return True
    return settings.NODE_ROLE == "hub" and is_reference(code)
