"""Benchmarks of the feedback loop: ``nox -s bench`` (``python -m bench``)."""
