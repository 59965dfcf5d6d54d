"""The package's version (also in pyproject.toml), in a module of its own: modules that name it (`crosslift
--version`, the download's user agent) import it from here, never from the package root, which ranks above them
(it exports the Python API, `crosslift.api`)."""

__version__ = "0.1.0"
