"""Executing submissions: notebook tests, model training and evaluation, one submission at a time."""
