"""A dependency outage is logged once, not once per request."""

import logging

from budhitrade import middleware


def test_a_cache_outage_is_logged_once_and_its_end_once(monkeypatch, caplog):
    def cache_down(key, *, ttl_seconds):
        raise ConnectionError("Connection refused")

    monkeypatch.setattr(middleware, "window_count", cache_down)
    with caplog.at_level(logging.INFO, logger="budhitrade"):
        counts = [middleware._count("ip:127.0.0.1", 0) for _ in range(50)]
        monkeypatch.setattr(middleware, "window_count", lambda key, *, ttl_seconds: 7)
        after = [middleware._count("ip:127.0.0.1", 0) for _ in range(3)]

    events = [record.getMessage() for record in caplog.records]
    assert counts == [None] * 50 and after == [7, 7, 7]
    assert events.count("rate_limit_cache_unavailable") == 1
    assert events.count("rate_limit_cache_unavailable_recovered") == 1
    recovered = next(r for r in caplog.records if r.getMessage() == "rate_limit_cache_unavailable_recovered")
    assert recovered.failures == 50
