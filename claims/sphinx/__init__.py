"""Sphinx adapters of the book, one module per job (see claims/sphinxext.py for the entry point)."""
