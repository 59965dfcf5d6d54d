"""crosslift: cross-lingual instruction tuning for low-resource languages.

The Python API (`crosslift.api`): `fit`, `evaluate`, `report`, `demo`, `load_model`, and `GenerationSettings` for
the generator `load_model` returns. They are imported on first use, so that `import crosslift` (which every
`import crosslift.<module>` runs first) stays as light as this file and `crosslift --help` fast.
"""

import importlib

from crosslift.version import __version__

TYPE_CHECKING = False  # typing's own costs a cold start more than this whole module
if TYPE_CHECKING:  # what __getattr__ gives, for type checkers and editors
    from crosslift.api import demo, evaluate, fit, load_model, report
    from crosslift.models.generation import GenerationSettings

# name -> the module that defines it
_EXPORTS = {
    "fit": "crosslift.api",
    "evaluate": "crosslift.api",
    "report": "crosslift.api",
    "demo": "crosslift.api",
    "load_model": "crosslift.api",
    "GenerationSettings": "crosslift.models.generation",
}

__all__ = ["GenerationSettings", "__version__", "demo", "evaluate", "fit", "load_model", "report"]


def __getattr__(name: str) -> object:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'crosslift' has no attribute '{name}'")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value  # found directly from now on
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
