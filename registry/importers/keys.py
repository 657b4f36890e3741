"""Which stored record each row of a re-imported file updates (docs/import-mapping.md, "Keys").

A row's *base key* is its source's own id (`us-omb-2025:HHS:HHS-0042`, `nl-register:1234`) or,
when it has none, a digest of what names it (agency, name, bureau). Neither is unique in real
files: the OMB inventory repeats ids (DOJ-0357 twice) and has id-less rows of the same name
(HHS's two "Chatbot" rows of HHS/AHRQ/CQuIPS). Numbering repeats in file order ('#2') ties a key
to a position, so removing or adding a row moves keys to other rows and one uid ends up
describing another system: the fault CKAN-style harvesters know. Here a row is matched to a
stored record of the same base key by content, never by position:

1. a stored record whose last imported row had exactly this content (`content` digest);
2. else one whose row had the same identity (name and bureau, `identity` digest);
3. else, when exactly one row and one stored record of that base key are left, each other
   (the usual case: the row was edited in the source).

A matched row takes the stored record's key, so a record's key never moves. An unmatched row
gets its base key when no stored record or earlier row holds it, else the base key with its
content digest (`~c0ffee...`). Repeated ids are reported.
"""

from collections import defaultdict
from dataclasses import dataclass, replace

from registry.importers.base import SourceRow

SEPARATOR = "~"
# Keys written before content matching numbered repeats ('k#2'); they share the base key 'k'.
LEGACY_REPEAT = "#"


@dataclass(frozen=True)
class DuplicateId:
    key: str
    rows: tuple[int, ...]

    def __str__(self) -> str:
        rows = ", ".join(str(number) for number in self.rows)
        return f"id {self.key} is repeated in rows {rows}: each row was matched on its content"


@dataclass(frozen=True)
class Keyed:
    rows: list[SourceRow]  # in file order, each with its final key
    duplicate_ids: list[DuplicateId]


def assign_keys(rows: list[SourceRow], stored: dict[str, str]) -> Keyed:
    """Final keys for `rows` given the agency's stored records of the source, as
    {source_key: source_fingerprint} (fingerprint: 'identity:content', '' for records imported
    before fingerprints were kept). See the module docstring for the rules."""
    by_base: dict[str, list[SourceRow]] = defaultdict(list)
    for row in rows:
        by_base[row.key].append(row)
    stored_by_base: dict[str, list[str]] = defaultdict(list)
    for key in sorted(stored):
        stored_by_base[base_key(key)].append(key)

    final: dict[int, str] = {}
    taken = set(stored)
    for base, group in by_base.items():
        candidates = list(stored_by_base.get(base, []))
        left = list(group)
        for matches in (_same_content, _same_identity):
            for row in list(left):
                key = next((k for k in candidates if matches(row, stored[k])), None)
                if key is not None:
                    final[row.number] = key
                    candidates.remove(key)
                    left.remove(row)
        if len(left) == 1 and len(candidates) == 1:
            final[left.pop().number] = candidates.pop()
        for row in left:
            key = base if base not in taken else f"{base}{SEPARATOR}{row.content[:12]}"
            repeat = 2
            while key in taken:  # rows identical in every cell
                key = f"{base}{SEPARATOR}{row.content[:12]}{SEPARATOR}{repeat}"
                repeat += 1
            final[row.number] = key
            taken.add(key)
    duplicates = [
        DuplicateId(base, tuple(row.number for row in group))
        for base, group in by_base.items()
        if len(group) > 1 and group[0].has_id
    ]
    return Keyed([replace(row, key=final[row.number]) for row in rows], duplicates)


def base_key(key: str) -> str:
    """The base key a stored key was made from ('k~c0ffee' and legacy 'k#2' -> 'k')."""
    key = key.split(SEPARATOR, 1)[0]
    head, mark, number = key.rpartition(LEGACY_REPEAT)
    return head if mark and number.isdigit() else key


def _same_content(row: SourceRow, fingerprint: str) -> bool:
    return bool(fingerprint) and fingerprint.partition(":")[2] == row.content


def _same_identity(row: SourceRow, fingerprint: str) -> bool:
    return bool(fingerprint) and fingerprint.partition(":")[0] == row.identity
