"""Checks on the free text a reader types into a search (the catalogue page, the API's and the
feed's `search` parameter), so that a refusal names the real problem.

A control character (Unicode category Cc: NUL, the C0 and C1 controls, DEL) cannot be searched
for, PostgreSQL refuses NUL in text, and echoed into a page it corrupts the HTML. Tab, line feed
and carriage return are whitespace and simply separate words.
"""

import unicodedata

from django.utils.translation import gettext as _

from registry import search as fulltext
from registry.validation import TEXT_WHITESPACE as WHITESPACE_CONTROLS
from registry.validation import control_characters


def search_text_errors(text: str) -> list[str]:
    """Why text cannot be searched for, in words a reader acts on; [] when it can. Rules: no
    control character (see the module), at most registry.search.MAX_QUERY_LENGTH characters."""
    errors = []
    controls = control_characters(text)
    if controls:
        errors.append(
            _(
                "The search text contains a control character (%(codes)s), which cannot be "
                "searched for. Remove it and search again."
            )
            % {"codes": ", ".join(controls)}
        )
    if len(text) > fulltext.MAX_QUERY_LENGTH:
        errors.append(
            _("At most %(limit)d characters of search text; this has %(length)d.")
            % {"limit": fulltext.MAX_QUERY_LENGTH, "length": len(text)}
        )
    return errors


def without_control_characters(text: str) -> str:
    """text with each control character other than whitespace replaced by a space (it most
    likely stood between two words): what a page may show of a refused search."""
    return "".join(
        char if char in WHITESPACE_CONTROLS or unicodedata.category(char) != "Cc" else " "
        for char in text
    )


def query_errors(params, *, search_param: str = "search") -> dict[str, list[str]]:
    """What is wrong with a page's query string (a QueryDict), by parameter: a control character
    in any parameter's name or value, and search_text_errors for the search text. Names are given
    without their control characters, so that the error page never shows one."""
    errors: dict[str, list[str]] = {}
    for name, values in params.lists():
        shown = without_control_characters(name).strip() or "?"
        if name == search_param:
            problems = [problem for value in values for problem in search_text_errors(value)]
        elif controls := control_characters(name + "".join(values)):
            problems = [
                _("Contains a control character (%(codes)s); remove it.")
                % {"codes": ", ".join(controls)}
            ]
        else:
            problems = []
        if problems:
            errors.setdefault(shown, []).extend(dict.fromkeys(problems))
    return errors
