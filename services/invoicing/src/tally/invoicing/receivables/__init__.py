"""Receivables: what is still owed on each invoice, payments and credit notes applied to it, the customer's credit
balance beyond it, and the customer's statement."""
