"""Benchmarks: launches under gunicorn, grade delivery, the instructor dashboard (`make bench`).

Not part of `make test` (pytest does not collect this folder); see docs/performance.md.
"""
