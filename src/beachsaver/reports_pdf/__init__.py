"""PDF summary reports for a period and organisation, and their scheduled e-mailing (01 §5, 07 §10)."""
