"""The gateway's HTTP side: JSON API, customer portal, finance console (Starlette on uvicorn)."""
