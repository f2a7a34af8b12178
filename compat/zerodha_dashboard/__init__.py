"""Seed 003 (the Zerodha Kite Connect dashboard integration): its paths over the unified API."""
