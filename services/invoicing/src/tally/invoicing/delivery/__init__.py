"""Delivery: finalized invoices and issued credit notes e-mailed to the customer's billing contacts with their PDF,
retried, logged, and sent again on request."""
