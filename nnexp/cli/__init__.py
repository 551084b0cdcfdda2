"""Command-line entry points (``nnexp-train``)."""
