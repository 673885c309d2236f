"""specc's version, where every layer can read it without importing the package's entry points."""

__version__ = "0.1.0"
