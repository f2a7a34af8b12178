"""The paper exchange: a simulated NSE/NFO market, its matching engine and its accounts, with tables of its own.

BudhiTrade reaches it as it reaches any broker, through an adapter
(brokers/adapters/paper/adapter.py); it announces what changes as a
broker-neutral push (brokers/pushes.py).
"""
