"""Keeping the network's agencies apart from the reference registers (registry.reference: public
inventories of bodies outside the network) wherever the catalogue lists origins: the agency
facet, the agency list, statistics. A reference register is never shown as an agency."""

from collections.abc import Callable, Iterable
from typing import TypeVar

from django.utils.translation import gettext_lazy as _

from registry import reference

T = TypeVar("T")
NETWORK_AGENCIES = _("Network agencies")
OTHER_REGISTERS = _("Other public registers")


def split_by_origin(
    items: Iterable[T], code: Callable[[T], str] = lambda item: item["code"]
) -> tuple[list[T], list[T]]:
    """(the network agencies' items, the reference registers' items), each in the given order.
    `code` gives an item's origin code (default: item["code"], as in the statistics' rows)."""
    network, registers = [], []
    for item in items:
        (registers if reference.is_reference(code(item)) else network).append(item)
    return network, registers


def split_agency_facet(groups: list[dict]) -> list[dict]:
    """The facet groups with the agency group in two: 'Network agencies', then 'Other public
    registers' when any register has a value to offer. Both keep the `agency` parameter."""
    split = []
    for group in groups:
        if group["param"] != "agency":
            split.append(group)
            continue
        network, registers = split_by_origin(group["options"], lambda option: option["value"])
        split.append({**group, "label": NETWORK_AGENCIES, "options": network})
        if registers:
            split.append(
                {**group, "key": "agency-registers", "label": OTHER_REGISTERS, "options": registers}
            )
    return split


def agency_groups(agencies: list) -> list[tuple[str, list]]:
    """(heading, agencies) for the agency list: the network's agencies, then the registers."""
    network, registers = split_by_origin(agencies, lambda agency: agency.code)
    groups = [(NETWORK_AGENCIES, network)]
    if registers:
        groups.append((OTHER_REGISTERS, registers))
    return groups
