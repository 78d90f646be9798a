"""The Redis cache, made non-fatal: with Redis down a request still gets its answer.

Everything this service keeps in the cache can be done without it: coverage roll-ups are
recomputed from the database, and the per-address counters of the public endpoints fail open
(an unreachable Redis must not turn the last evening of a window into a wall of 500s; the
front web server still limits request rates). Each failure is logged, once per call, with
the operation, so an operator sees that the cache is gone.
"""

import logging

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError)


def _down(operation: str) -> None:
    logger.warning("cache unavailable: %s skipped", operation, exc_info=True)


class ResilientRedisCache(RedisCache):
    """`RedisCache` whose calls answer "nothing cached" instead of raising when Redis is
    unreachable: `get` misses, writes are dropped, `incr` counts from scratch."""

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return super().add(key, value, timeout, version)
        except UNAVAILABLE:
            _down("add")
            return True

    def get(self, key, default=None, version=None):
        try:
            return super().get(key, default, version)
        except UNAVAILABLE:
            _down("get")
            return default

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            super().set(key, value, timeout, version)
        except UNAVAILABLE:
            _down("set")

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return super().touch(key, timeout, version)
        except UNAVAILABLE:
            _down("touch")
            return False

    def delete(self, key, version=None):
        try:
            return super().delete(key, version)
        except UNAVAILABLE:
            _down("delete")
            return False

    def get_many(self, keys, version=None):
        try:
            return super().get_many(keys, version)
        except UNAVAILABLE:
            _down("get_many")
            return {}

    def has_key(self, key, version=None):
        try:
            return super().has_key(key, version)
        except UNAVAILABLE:
            _down("has_key")
            return False

    def incr(self, key, delta=1, version=None):
        # A missing key still raises ValueError, as callers expect; only an outage is hidden.
        try:
            return super().incr(key, delta, version)
        except UNAVAILABLE:
            _down("incr")
            return delta

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        try:
            return super().set_many(data, timeout, version)
        except UNAVAILABLE:
            _down("set_many")
            return list(data)

    def delete_many(self, keys, version=None):
        try:
            super().delete_many(keys, version)
        except UNAVAILABLE:
            _down("delete_many")
