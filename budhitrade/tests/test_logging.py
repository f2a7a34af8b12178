"""Logs never carry a secret."""

import logging

from budhitrade.logging import SecretMaskingFilter, mask_text


def test_mask_text_masks_key_value_pairs_and_bearer_tokens():
    text = 'login api_secret=abc123 totp: 654321 {"access_token": "xyz"} Authorization: Bearer eyJ.a.b'
    masked = mask_text(text)
    for secret in ["abc123", "654321", "xyz", "eyJ.a.b"]:
        assert secret not in masked
    assert "login" in masked


def test_filter_masks_extra_fields_and_formatted_args(caplog):
    logger = logging.getLogger("budhitrade.test")
    logger.addFilter(SecretMaskingFilter())
    try:
        with caplog.at_level(logging.INFO, logger="budhitrade.test"):
            logger.info("session for %s mpin=%s", "AB123", "4321", extra={"request_token": "reqTok42", "broker": "zerodha"})
    finally:
        logger.filters.clear()

    record = caplog.records[0]
    assert "4321" not in record.getMessage() and "AB123" in record.getMessage()
    assert record.request_token == "***" and record.broker == "zerodha"


def test_json_formatter_line_has_event_and_no_secret():
    from pythonjsonlogger.json import JsonFormatter

    record = logging.makeLogRecord({"msg": "zerodha_session_created", "levelname": "INFO", "name": "x", "access_token": "kAcc3ss"})
    SecretMaskingFilter().filter(record)
    line = JsonFormatter("%(levelname)s %(name)s %(message)s", rename_fields={"message": "event"}).format(record)
    assert '"event": "zerodha_session_created"' in line and "kAcc3ss" not in line
