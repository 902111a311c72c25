"""erp_sync."""
