"""Vocabulary shared by every service's pure domain: errors and field violations."""
