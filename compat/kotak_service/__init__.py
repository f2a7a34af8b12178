"""Seed 002, the Kotak Neo microservice: its auth, orders, portfolio and trades paths."""
