"""A learner's way through the content: pure rules (rules.py, scoring.py), their state read back
(state.py), persistence (service.py) and the ready values the learner's pages show (learning.py)."""
