"""Bulk account import from Excel, the import template and the account export (02-api §3, 07 §10)."""
