"""Benchmarks of the back office, each a module run from the repository root:
``.venv/bin/python -m bench.<name> --help`` (``bench.day_close``, ``bench.intake``, …).

``bench.harness`` holds what they share: statistics, databases, processes and restaurants.
"""
