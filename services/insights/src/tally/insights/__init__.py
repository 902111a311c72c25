"""Tally insights: usage anomalies, revenue leakage, forecasts and pricing simulation."""
