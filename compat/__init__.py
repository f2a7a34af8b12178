"""Source documents' own APIs, served path for path over BudhiTrade's services (issue 13)."""
