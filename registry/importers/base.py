"""What every inventory format hands to the import service."""

import datetime as dt
import hashlib
import json
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
    # The row's base key as read (its source id, or its identity digest when it has none);
    # registry.importers.keys gives it its final key, stored in UseCase.source_key.
    key: str
    values: dict[str, Any]
    has_id: bool = True  # the key is the source's own id
    identity: str = ""  # digest of what names the row (agency, name, bureau)
    content: str = ""  # digest of every cell of the row

    @property
    def fingerprint(self) -> str:
        """Stored in UseCase.source_fingerprint: 'identity:content'."""
        return f"{self.identity}:{self.content}"


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


def content_digest(values: dict[str, Any]) -> str:
    """A digest of every cell of a row, independent of the order of its columns."""
    return hashlib.sha256(
        json.dumps(values, sort_keys=True, ensure_ascii=False, default=str).encode("utf-8")
    ).hexdigest()[:32]
