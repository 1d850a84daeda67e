"""A tiny downstream Sphinx project that cites the book's claims through intersphinx."""

import os

project = "A design doc"
extensions = ["sphinx.ext.intersphinx"]
intersphinx_mapping = {"book": ("https://book.example/", os.environ["BOOK_INVENTORY"])}
nitpicky = True


def setup(app):
    # Teach this project's std domain the object type the book publishes as std:claim.
    app.add_object_type("claim", "claim")
