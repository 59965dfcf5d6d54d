"""What the synthetic-world tests share."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from crosslift import languages as registry


@contextlib.contextmanager
def languages_registered(world) -> Iterator[None]:
    """A world's languages in the registry inside the block only (other tests may register other worlds)."""
    saved_env, saved_files = os.environ.get(registry.LANGUAGES_ENV), list(registry._registered_files)
    registry.register_languages(world.languages_file)
    try:
        yield
    finally:
        registry._registered_files[:] = saved_files
        if saved_env is None:
            os.environ.pop(registry.LANGUAGES_ENV, None)
        else:
            os.environ[registry.LANGUAGES_ENV] = saved_env
        registry._registry.cache_clear()
