"""Helpers the tests share: throwaway databases, workers and vendors, and the race helper.
Importable as ``support`` because ``tests/`` is on sys.path (pytest's rootdir conftest)."""
