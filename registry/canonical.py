"""Canonical JSON and content hash of a record (PROTOCOL.md: Identity and records).

The registry stamps the hash on every feed entry it writes; sync/protocol.py uses the same
functions to check what arrives, so there is exactly one definition of "the same content".
"""

import hashlib
import json
from typing import Any

HASH_PREFIX = "sha256:"


def canonical_json(record: Any) -> bytes:
    return json.dumps(
        record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def record_hash(record: Any) -> str:
    return HASH_PREFIX + hashlib.sha256(canonical_json(record)).hexdigest()
