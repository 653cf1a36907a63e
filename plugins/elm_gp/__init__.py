"""Genetic-programming mutation of Python source through its syntax tree."""
