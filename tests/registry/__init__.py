"""A package, so that its conftest.py is imported as ``registry.conftest`` and does not take
the name ``conftest`` from tests/conftest.py (tests/docs imports ``from conftest``)."""
