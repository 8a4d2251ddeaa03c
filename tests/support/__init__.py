"""Helpers for the tests: a live server, a browser-like agent, an external LTI platform."""
