"""Attempts, scoring and completion: pure rules (rules.py, scoring.py) and persistence (service.py)."""
