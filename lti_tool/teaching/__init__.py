"""What the tool shows and does for teachers: the launch's home page (overview.py), the course
dashboard (dashboard.py) read from the roster snapshot that roster.py keeps fresh, and the
reflections waiting for their review (review.py)."""
