"""Values kept in Django's cache until the data they were worked out from changes.

Each kind of data (``name``: "cases", "weapon systems") has a version number in the
cache; a value is kept under that version (the cache's own ``version`` argument), and a
change to the data moves the number on (``bump_on_commit``), so every value worked out
before is passed over at the next read, in every process sharing the cache, and
expires in its own time.
"""

import time

from django.core.cache import cache
from django.db import transaction

KEY_PREFIX = "version:"
DAY = 24 * 60 * 60


def current_version(name):
    """The version values of ``name`` are kept under now. A version number lost from
    the cache (evicted, or the cache emptied) starts again from the clock, never from a
    number values may still be kept under."""
    key = KEY_PREFIX + name
    version = cache.get(key)
    if version is None:
        cache.add(key, time.time_ns(), timeout=None)
        version = cache.get(key)
    return version


def bump(name):
    """Pass over every value of ``name`` kept so far."""
    try:
        cache.incr(KEY_PREFIX + name)
    except ValueError:  # no version yet: the next read starts one
        pass


def bump_on_commit(name, using=None):
    """``bump`` once the current transaction commits (at once outside one): a value
    worked out in between, from the data as it was before, is then passed over too."""
    transaction.on_commit(lambda: bump(name), using=using)


def get_or_set(name, key, compute, timeout=DAY):
    """The value kept under ``key`` for the current version of ``name``, or
    ``compute()`` kept there for ``timeout`` seconds. The default day is not what keeps
    a value right (the version is); it only lets those of past versions go."""
    return cache.get_or_set(key, compute, timeout, version=current_version(name))
