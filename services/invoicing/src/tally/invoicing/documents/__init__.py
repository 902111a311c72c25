"""Printed documents: invoices and credit notes as views, and those views as PDFs."""
