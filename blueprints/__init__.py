"""Thin HTTP layers, one blueprint per audience."""
