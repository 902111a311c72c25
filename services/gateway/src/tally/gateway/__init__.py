"""The gateway: Tally's HTTP face (JSON API, customer portal, finance console) and its webhook sender."""
