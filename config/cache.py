"""A Redis cache that is never a hard dependency: while Redis is down, every call answers as a
cache miss instead of raising, so a page, an API answer or an admin save costs speed, never an
answer (issue 12.4).

What a failed call answers:
- get → the default, get_many → {}, has_key → False: a miss; the caller computes the value.
- set, set_many, delete, delete_many, touch, clear → nothing is stored (set_many lists every key
  as not stored, as Django's API says).
- add → True, as if the key was free and is now held. The project uses add only to debounce
  (sync.signals, webhooks.signals: "push soon" and "dispatch soon" queue once a second), never as
  a lock, so a caller that goes ahead just queues a task more.
- incr/decr → ValueError, what Django raises for a missing key (django-ratelimit reads that as
  "no count", and with RATELIMIT_FAIL_OPEN lets the request through; so does DRF's throttle,
  which reads an empty history).

After a failure the backend skips Redis for RETRY_AFTER_SECONDS, so a Redis that hangs instead of
refusing costs one socket timeout per thread every few seconds, not one per call. One warning
is logged per outage.
"""

import logging
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5.0
_UNAVAILABLE = object()


class FailSoftRedisCache(RedisCache):
    """django.core.cache.backends.redis.RedisCache that answers a miss while Redis is down."""

    def __init__(self, server, params):
        super().__init__(server, params)
        self._down_until = 0.0

    def _answered(self, operation, *args, **kwargs):
        """operation(*args, **kwargs), or _UNAVAILABLE while Redis does not answer."""
        if time.monotonic() < self._down_until:
            return _UNAVAILABLE
        try:
            result = operation(*args, **kwargs)
        except RedisError as error:
            if not self._down_until:
                logger.warning("Cache unavailable, serving without it: %s", error)
            self._down_until = time.monotonic() + RETRY_AFTER_SECONDS
            return _UNAVAILABLE
        if self._down_until:
            logger.warning("Cache available again")
            self._down_until = 0.0
        return result

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        result = self._answered(super().add, key, value, timeout, version)
        return True if result is _UNAVAILABLE else result

    def get(self, key, default=None, version=None):
        result = self._answered(super().get, key, default, version)
        return default if result is _UNAVAILABLE else result

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        self._answered(super().set, key, value, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        result = self._answered(super().touch, key, timeout, version)
        return False if result is _UNAVAILABLE else result

    def delete(self, key, version=None):
        result = self._answered(super().delete, key, version)
        return False if result is _UNAVAILABLE else result

    def get_many(self, keys, version=None):
        result = self._answered(super().get_many, keys, version)
        return {} if result is _UNAVAILABLE else result

    def has_key(self, key, version=None):
        result = self._answered(super().has_key, key, version)
        return False if result is _UNAVAILABLE else result

    def incr(self, key, delta=1, version=None):
        result = self._answered(super().incr, key, delta, version)
        if result is _UNAVAILABLE:
            raise ValueError(f"Key {key!r} not found: the cache is unavailable")
        return result

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        result = self._answered(super().set_many, data, timeout, version)
        return list(data) if result is _UNAVAILABLE else result

    def delete_many(self, keys, version=None):
        self._answered(super().delete_many, keys, version)

    def clear(self):
        result = self._answered(super().clear)
        return False if result is _UNAVAILABLE else result
