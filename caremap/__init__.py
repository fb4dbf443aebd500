"""caremap core: the directory's model, vocabulary, storage, queries and privacy rules.

This package knows no web framework: ``webmap`` (Flask) and ``etl`` are thin adapters over it.
"""

__version__ = "0.1.0"
