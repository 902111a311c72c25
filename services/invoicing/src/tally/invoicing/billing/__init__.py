"""Billing: runs that draft and finalize every subscription's invoices, previews, billing controls and alerts."""
