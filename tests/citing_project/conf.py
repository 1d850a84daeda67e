"""A design-doc project that cites the book through claims.citing (used by tests/test_citing.py)."""

project = "A design doc"
extensions = ["myst_parser", "claims.citing"]
claims_json = "claims.json"  # written beside this file by the test
exclude_patterns = ["_build"]
