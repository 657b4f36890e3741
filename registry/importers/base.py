"""What every inventory format hands to the import service."""

import datetime as dt
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Bigger files are not agency inventories; refuse them before reading them into memory.
MAX_FILE_BYTES = 200 * 1024 * 1024


class ImportRefused(Exception):
    """The import cannot run as asked (unknown format or agency, not this node's records, a
    withdrawal that looks like a wrong file)."""


class SourceInvalid(Exception):
    """The file is not (or not all of) the announced format: nothing is imported."""


@dataclass(frozen=True)
class SourceRow:
    number: int  # 1-based position of the row (record) in the file, header not counted
    key: str  # stable key of the row, stored in UseCase.source_key
    values: dict[str, Any]


@dataclass(frozen=True)
class MapOptions:
    today: dt.date
    contact_email: str = ""  # the importing agency's mailbox for rows that give none


@dataclass
class Mapped:
    record: dict[str, Any]  # wire form of RECORD.md, without publication_level
    never_public: bool = False  # the source asks to withhold the row from public reporting
    notes: list[str] = field(default_factory=list)


def check_file(path: Path) -> None:
    if not path.is_file():
        raise SourceInvalid(f"{path}: no such file.")
    size = path.stat().st_size
    if size == 0:
        raise SourceInvalid(f"{path}: the file is empty.")
    if size > MAX_FILE_BYTES:
        raise SourceInvalid(f"{path}: {size} bytes is more than the {MAX_FILE_BYTES} we accept.")


def short_hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]


def number_duplicates(keys: list[str]) -> list[str]:
    """Make repeated keys unique and stable: the second 'k' becomes 'k#2', in file order."""
    seen: Counter[str] = Counter()
    unique = []
    for key in keys:
        seen[key] += 1
        unique.append(key if seen[key] == 1 else f"{key}#{seen[key]}")
    return unique
