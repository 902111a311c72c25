"""Catalog's settings beyond the mesh's: none yet (customers need no tuning)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CatalogSettings:
    """Catalog-specific settings; products, plans and subscriptions will add theirs here."""
