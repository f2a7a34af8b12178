"""Seed 001, the Kotak Neo TOTP + MPIN integration: its login, orders, reports, quotes and status paths."""
