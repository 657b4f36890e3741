"""Facet counts from memory: the enumerated fields of every shareable use case as numpy arrays.

Counting in the database reads every matching row once per facet whose own filter is widened,
which made counting the costly part of a catalogue page (tens of milliseconds per query at
100,000 records). Each process instead keeps one small array per enumerated field, agency and
country (about 3 MB at 100,000 records) and counts any combination of their filters in a few
vectorised passes. Filters the arrays do not hold (yes/no fields, dates) and the full-text search
are applied by the database, which hands over the matching primary keys (catalogue.selectors).

The arrays are rebuilt when the catalogue stamp changes (catalogue.counts.catalogue_stamp), so
counts lag a change by up to STAMP_SECONDS as before, and at least every MAX_AGE_SECONDS.
"""

import json
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np
from django.db import connection, transaction

from catalogue.counts import catalogue_stamp
from catalogue.filters import FACET_FIELDS, FILTERS
from registry import vocabularies as v
from registry.models import UseCase

# Drafts and internal records never reach the catalogue, so they are not held.
SHAREABLE_LEVELS = (v.PublicationLevel.NETWORK, v.PublicationLevel.PUBLIC)
MAX_AGE_SECONDS = 300
_BUILD_CHUNK = 5000
NONE = -1  # a row without a value (an optional field left empty)


@dataclass(frozen=True)
class Column:
    """One facet: values[i] is the value of code i. A single-valued field holds a code per row
    (len(values) where the row has none); a list field a bit mask per row (bit i: values[i])."""

    values: tuple[str, ...]
    codes: np.ndarray
    is_list: bool

    def matching(self, chosen: Iterable[str]) -> np.ndarray:
        """Rows holding any of the chosen values (one facet's values combine with OR)."""
        positions = [self.values.index(value) for value in chosen if value in self.values]
        if self.is_list:
            bits = sum(1 << position for position in positions)
            return (self.codes & bits) != 0
        chosen_codes = np.zeros(len(self.values) + 1, dtype=bool)  # the last: no value
        chosen_codes[positions] = True
        return chosen_codes[self.codes]

    def counted(self, rows: np.ndarray) -> dict[str, int]:
        """{value: rows holding it}, values held by no row left out."""
        selected = self.codes[rows]
        if self.is_list:
            counts = [int(np.count_nonzero(selected & (1 << i))) for i in range(len(self.values))]
        else:
            counts = np.bincount(selected, minlength=len(self.values) + 1).tolist()
        return {value: n for value, n in zip(self.values, counts, strict=False) if n}


@dataclass(frozen=True)
class FacetIndex:
    stamp: str
    built_at: float
    pks: np.ndarray  # ascending
    columns: Mapping[str, Column]

    def rows(self, *, levels: Iterable[str], pks: Iterable[int] | None = None) -> np.ndarray:
        """The rows at one of levels and, when pks is given, among those primary keys."""
        at_level = self.columns["publication_level"].matching(levels)
        if pks is None:
            return at_level
        wanted = np.fromiter(pks, dtype=np.int64)
        positions = np.searchsorted(self.pks, wanted)
        inside = positions < len(self.pks)
        positions = positions[inside]
        positions = positions[self.pks[positions] == wanted[inside]]
        among = np.zeros(len(self.pks), dtype=bool)
        among[positions] = True
        return at_level & among

    def counts(
        self,
        rows: np.ndarray,
        *,
        chosen: Mapping[str, list[str]],
        fields: Iterable[str],
        widen: bool = False,
    ) -> tuple[dict[str, dict[str, int]], int]:
        """({facet: {value: count}}, total) for rows narrowed by the chosen facet values.
        widen: a facet with values chosen is counted as if it had none, so its other values
        still show how many a wider choice would add."""
        narrowing = {name: self.columns[name].matching(values) for name, values in chosen.items()}
        everything = _all_of(rows, narrowing.values())
        counts = {}
        for name in fields:
            within = everything
            if widen and name in narrowing:
                within = _all_of(rows, (m for other, m in narrowing.items() if other != name))
            counts[name] = self.columns[name].counted(within)
        return counts, int(np.count_nonzero(everything))


def _raw_chunks(rows) -> Iterator[list[tuple]]:
    """The rows of a values_list queryset straight from the cursor, a chunk at a time: Django's
    per-row conversions would take twice as long as the query (JSON lists arrive as text)."""
    sql, params = rows.query.sql_with_params()
    # A server-side cursor on PostgreSQL (as QuerySet.iterator uses), so that only one chunk
    # is ever held in memory.
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while chunk := cursor.fetchmany(_BUILD_CHUNK):
            yield chunk


def _all_of(rows: np.ndarray, masks: Iterable[np.ndarray]) -> np.ndarray:
    result = rows.copy()
    for mask in masks:
        result &= mask
    return result


def build(stamp: str) -> FacetIndex:
    """Read the enumerated fields of every shareable use case, a chunk at a time."""
    encoders = {name: _Encoder(name) for name in FACET_FIELDS}
    pks: list[np.ndarray] = []
    codes: dict[str, list[np.ndarray]] = {name: [] for name in FACET_FIELDS}
    rows = (
        UseCase.objects.filter(publication_level__in=SHAREABLE_LEVELS)
        .order_by("pk")
        .values_list("pk", *(FILTERS[name].field for name in FACET_FIELDS))
    )
    # Each chunk becomes arrays at once: Python lists of every row's codes would take ten
    # times the memory of the index they build.
    for chunk in _raw_chunks(rows):
        pk_column, *columns = zip(*chunk, strict=True)
        pks.append(np.array(pk_column, dtype=np.int64))
        for name, column in zip(FACET_FIELDS, columns, strict=True):
            codes[name].append(np.fromiter(map(encoders[name].code, column), dtype=np.int64))
    return FacetIndex(
        stamp=stamp,
        built_at=time.monotonic(),
        pks=np.concatenate(pks) if pks else np.zeros(0, dtype=np.int64),
        columns={name: encoders[name].column(codes[name]) for name in FACET_FIELDS},
    )


class _Encoder:
    """A column's stored values to codes (Column), each distinct stored value worked out once:
    there are few of them (a list field's JSON text included)."""

    def __init__(self, name: str):
        spec = FILTERS[name]
        self.is_list = spec.kind == "enum_list"
        # Agency and country have no vocabulary: their values are taken as found.
        self.found = spec.choices is None
        self.values: list[str] = [] if self.found else list(spec.choices.values)
        if self.is_list and len(self.values) > 32:
            raise ValueError(f"{name}: a bit mask per row holds at most 32 values")
        self._codes: dict = {}

    def code(self, stored) -> int:
        key = stored if stored is None or isinstance(stored, str) else json.dumps(stored)
        try:
            return self._codes[key]
        except KeyError:
            code = self._codes[key] = self._encode(stored)
            return code

    def _encode(self, stored) -> int:
        if self.is_list:
            items = json.loads(stored) if isinstance(stored, str) else stored or ()
            return sum(1 << self.values.index(item) for item in set(items) if item in self.values)
        if stored in (None, ""):
            return NONE
        if stored not in self.values:
            if not self.found:
                return NONE
            self.values.append(stored)
        return self.values.index(stored)

    def column(self, chunks: list[np.ndarray]) -> Column:
        values = tuple(self.values)
        codes = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int64)
        if self.is_list:
            return Column(values=values, codes=codes.astype(np.uint32), is_list=True)
        codes[codes == NONE] = len(values)  # counted apart and never shown
        small = np.uint8 if len(values) < np.iinfo(np.uint8).max else np.int32
        return Column(values=values, codes=codes.astype(small), is_list=False)


_current: FacetIndex | None = None
_building = threading.Lock()


def current() -> FacetIndex:
    """This process's index, rebuilt first if the catalogue changed since it was built. One
    thread builds; meanwhile the others count from the last index, or wait if there is none."""
    stamp = catalogue_stamp()
    index = _current
    if index is not None and _fresh(index, stamp):
        return index
    if not _building.acquire(blocking=index is None):
        return index
    try:
        index = _current
        if index is None or not _fresh(index, stamp):
            index = _replace(build(stamp))
        return index
    finally:
        _building.release()


def _fresh(index: FacetIndex, stamp: str) -> bool:
    return index.stamp == stamp and time.monotonic() - index.built_at < MAX_AGE_SECONDS


def _replace(index: FacetIndex | None) -> FacetIndex | None:
    global _current
    _current = index
    return index


def forget() -> None:
    """Drop this process's index (tests: each starts from another database state)."""
    _replace(None)
