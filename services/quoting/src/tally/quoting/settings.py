"""Quoting's settings beyond the mesh's: none yet."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class QuotingSettings:
    """Quoting-specific settings; catalog's address and approval limits will be added here."""
