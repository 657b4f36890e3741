"""The catalogue's search syntax and text folding, one meaning on every database.

Syntax (the subset of PostgreSQL's websearch_to_tsquery that people type):
    signal detection         both words (AND)
    "machine translation"    the words next to each other, in this order (a phrase)
    translation OR inspection  either (OR binds tighter than AND: `a b OR c` is a AND (b OR c))
    -machine                 without the word (or -"a phrase")
A word that is several tokens (`COVID-19`, `e-mail`) is searched as a phrase of them. `OR` is
the operator in any case (`or` too, as in websearch_to_tsquery); "or" in quotes is the word.

Folding (fold): NFKC, full case folding, diacritics removed, and the few Latin letters Unicode
does not decompose (ł, ø, đ, æ, œ, ...) mapped as PostgreSQL's unaccent maps them, so that
`Überwachung`, `ÜBERWACHUNG`, `uberwachung`, the decomposed (NFD) form, `ΈΛΕΓΧΟΣ` and
`έλεγχος` are one word. The same function folds the text the SQLite index stores and the query.
"""

import re
import unicodedata
from dataclasses import dataclass, field

MAX_TERMS = 12
OR = "OR"
# Letters without a Unicode decomposition that unaccent (PostgreSQL) strips all the same.
_UNDECOMPOSED = str.maketrans(
    {"ł": "l", "ø": "o", "đ": "d", "ħ": "h", "ŧ": "t", "ı": "i", "ŀ": "l", "æ": "ae", "œ": "oe"}
)
_QUERY_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')
_WORD = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    """text as the search compares it (see the module): lower case, no diacritics, NFC."""
    folded = unicodedata.normalize("NFKC", text).casefold().translate(_UNDECOMPOSED)
    bare = "".join(c for c in unicodedata.normalize("NFKD", folded) if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", bare)


def words(text: str) -> list[str]:
    """The folded words of text (letters and digits; any other character separates)."""
    return _WORD.findall(fold(text))


@dataclass(frozen=True)
class Term:
    """One searched item: a word, or several words that must follow one another."""

    text: str  # as typed: PostgreSQL folds and tokenises it as it does the stored text
    words: tuple[str, ...]  # folded (fold): what the SQLite index holds


@dataclass
class ParsedQuery:
    """groups: every group must match (AND); a group matches when any of its terms does (OR).
    excluded: no term may match."""

    groups: list[list[Term]] = field(default_factory=list)
    excluded: list[Term] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.groups or self.excluded)

    def highlighted_words(self) -> set[str]:
        return {word for group in self.groups for term in group for word in term.words}


def parse(query: str) -> ParsedQuery:
    """query in the syntax of the module; terms without a letter or digit are dropped, and
    at most MAX_TERMS terms are kept."""
    parsed = ParsedQuery()
    join_next = False
    count = 0
    for negated, quoted, bare in _QUERY_TOKEN.findall(query):
        if bare.upper() == OR:
            join_next = bool(parsed.groups)
            continue
        if bare.startswith("-") and len(bare) > 1:
            negated, bare = "-", bare[1:]
        term = _term(bare or quoted)
        if term is None or count >= MAX_TERMS:
            continue
        count += 1
        if negated:
            parsed.excluded.append(term)
        elif join_next:
            parsed.groups[-1].append(term)
        else:
            parsed.groups.append([term])
        join_next = False
    return parsed


def _term(text: str) -> Term | None:
    found = words(text)
    if not found:
        return None
    return Term(text=text, words=tuple(found))
