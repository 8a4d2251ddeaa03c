"""Grades to the LMS: the outbox (written with the learner's work) and its delivery worker."""
