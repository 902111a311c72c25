"""The prepaid-credit ledger: grants copied from catalog and every movement of credit on them."""
