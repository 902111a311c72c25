"""Credit notes: what may be credited on an invoice, issuing them, voiding invoices, reading them."""
