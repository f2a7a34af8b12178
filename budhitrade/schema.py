"""The OpenAPI schema documents every status an operation can answer, each with its body.

Views declare their success bodies (and, where they differ, their own error
bodies) with ``extend_schema``. ``ErrorDocumentingAutoSchema`` adds the rest,
in the contract's error shape ``{"detail", "status_code"[, "errors"]}``:

- from the HTTP edges every request passes: 400 (a malformed request; an
  unusable body or parameter), 406 (an Accept header that allows no JSON), 413
  (a body over MAX_REQUEST_BODY_BYTES, checked before anything reads it), 429
  (the rate limit), and the ``X-RateLimit-*`` headers on every answer;
- from what the operation declares: 401 where it authenticates (JWT), 404 where
  it names something by path or picks "the" account (``X-Account-ID``), 415
  where it takes a body;
- from what the code behind it does, per ``OPERATIONS``: 503 where it needs the
  database or Redis, 409/502/503/504 where it waits on a broker, and statuses
  only its own code answers.

An operation that ``OPERATIONS`` does not list is a schema warning, so
``manage.py spectacular --fail-on-warn`` (run by the test suite) refuses a new
view until someone has said what it can answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drf_spectacular.drainage import warn
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework import serializers

ERROR_FIELDS = {"detail", "status_code"}


class ErrorSerializer(serializers.Serializer):
    """The contract's error body."""

    detail = serializers.CharField(help_text="A sentence a user can act on.")
    status_code = serializers.IntegerField(help_text="The HTTP status, again.")
    errors = serializers.DictField(
        required=False,
        help_text="On invalid input: each field at fault -> its messages (a nested field -> its own fields).",
    )


@dataclass(frozen=True)
class Answers:
    """What the code behind one operation can answer beyond what its declaration shows."""

    broker: bool = False  # waits on a broker: 409 (not connected / session expired), 502, 503, 504
    store: bool = True  # needs the database or Redis: 503 while either is down
    extra: dict[int, str] = field(default_factory=dict)  # status -> why, answered by its own code
    own_body: frozenset[int] = frozenset()  # statuses answered with the success body (health's 503): why is extra's


_SYNCS = Answers(broker=True)  # a read that first syncs an account never synced (or asked to be fresh)
_ORDER_FINISHED = "The order is finished (only open orders can be changed or cancelled)."
_IDEMPOTENCY = ("This Idempotency-Key was used with another body, or its first request is still being "
                "processed.")
_USER_ID = "user_id names another user than the caller (staff: no such user)."

# Keyed by the view class's name and the method. Statuses every operation shares are not repeated here.
_NO_OPTIONS = "No option snapshots for this symbol, or none at the bucket or expiry asked for (the detail says which)."

OPERATIONS: dict[str, Answers] = {
    "RootView.get": Answers(store=False),
    "HealthView.get": Answers(own_body=frozenset({503}), extra={
        503: "Unhealthy: the database or Redis is down (`checks` says which)."}),
    "RegisterView.post": Answers(),
    "TokenObtainPairView.post": Answers(extra={401: "The username and password do not match an active user."}),
    "TokenRefreshView.post": Answers(extra={401: "The refresh token is invalid, expired or blacklisted."}),
    "ConnectInitiateView.post": Answers(broker=True),
    "ConnectVerifyView.post": Answers(broker=True, extra={
        404: "No connection is waiting to be verified (or not the one named).",
        409: "The connection is not waiting to be verified; start again with /broker/connect/initiate."}),
    "ZerodhaCallbackView.get": Answers(extra={404: "The connection this login belongs to no longer exists."}),
    "BrokerStatusView.get": Answers(),
    "BrokerDisconnectView.post": Answers(),  # a failed logout at the broker is recorded, not answered
    "RetiredKotakLoginView.post": Answers(),
    "AccountListView.get": Answers(),
    "AccountDetailView.get": Answers(),
    "AccountSyncView.post": _SYNCS,
    "AccountPositionsView.get": _SYNCS,
    "AccountHoldingsView.get": _SYNCS,
    "AccountFundsView.get": _SYNCS,
    "DashboardView.get": _SYNCS,
    "BrokerPortfolioView.get": _SYNCS,
    "BrokerHoldingsView.get": _SYNCS,
    "BrokerPositionsView.get": _SYNCS,
    "BrokerLimitsView.get": _SYNCS,
    "PortfolioLimitsView.get": Answers(broker=True),
    "OrderListCreateView.get": Answers(),
    "OrderListCreateView.post": Answers(broker=True, extra={409: _IDEMPOTENCY}),
    "OrderDetailView.get": Answers(),
    "OrderDetailView.patch": Answers(broker=True, extra={409: _ORDER_FINISHED}),
    "OrderDetailView.delete": Answers(broker=True, extra={409: _ORDER_FINISHED}),
    "OrderHistoryView.get": Answers(),
    "TradeListView.get": Answers(),
    "BatchOrderView.post": Answers(broker=True, extra={409: _IDEMPOTENCY}),
    "MarketQuotesView.post": Answers(broker=True),
    "MarketScripMasterView.get": Answers(),
    "MarketInstrumentsView.get": Answers(),
    "StrikeDistributionView.get": Answers(extra={404: _NO_OPTIONS}),
    "MoneynessSeriesView.get": Answers(extra={404: _NO_OPTIONS}),
    "ChainSummaryView.get": Answers(extra={404: _NO_OPTIONS}),
    "StraddleSeriesView.get": Answers(extra={404: _NO_OPTIONS}),
    "PositionSignalsView.get": Answers(extra={
        404: "No futures data for the symbol yet, or none for the contract in the window."}),
    "RolloverMetricsView.get": Answers(extra={
        404: "No futures data for the symbol yet, or no unexpired contract at its latest snapshot."}),
    # Seed 002's own paths (compat/kotak_service).
    "KotakServiceTotpLoginView.post": Answers(broker=True),
    "KotakServiceTotpValidateView.post": Answers(broker=True, extra={
        404: "No Kotak Neo login of the caller's is waiting for its MPIN (or not the one named).",
        409: "The login is not waiting for its MPIN any more; start again with /api/auth/totp-login."}),
    "KotakServiceLogoutView.post": Answers(),
    "KotakServiceOrderPlaceView.post": Answers(broker=True, extra={409: _IDEMPOTENCY}),
    "KotakServiceOrderModifyView.put": Answers(broker=True, extra={409: _ORDER_FINISHED}),
    "KotakServiceOrderCancelView.delete": Answers(broker=True, extra={409: _ORDER_FINISHED}),
    "KotakServiceOrderListView.get": Answers(),
    "KotakServiceOrderHistoryView.get": Answers(),
    "KotakServiceTradeListView.get": Answers(),
    "KotakServicePositionsView.get": _SYNCS,
    "KotakServiceHoldingsView.get": _SYNCS,
    # Seed 001's own paths (compat/kotak_integration).
    "KotakIntegrationTotpLoginView.post": Answers(broker=True, extra={404: _USER_ID}),
    "KotakIntegrationMpinLoginView.post": Answers(broker=True, extra={
        404: f"{_USER_ID} Or no Kotak Neo login of the user's is waiting for its MPIN (or not the one named).",
        409: "The login is not waiting for its MPIN any more; start again with /api/brokers/kotak/login/totp."}),
    "KotakIntegrationOrderPlaceView.post": Answers(broker=True, extra={404: _USER_ID, 409: _IDEMPOTENCY}),
    "KotakIntegrationOrderModifyView.post": Answers(broker=True, extra={404: _USER_ID, 409: _ORDER_FINISHED}),
    "KotakIntegrationOrderCancelView.post": Answers(broker=True, extra={404: _USER_ID, 409: _ORDER_FINISHED}),
    "KotakIntegrationOrderListView.get": Answers(extra={404: _USER_ID}),
    "KotakIntegrationTradeListView.get": Answers(extra={404: _USER_ID}),
    "KotakIntegrationPositionsView.get": Answers(broker=True, extra={404: _USER_ID}),
    "KotakIntegrationHoldingsView.get": Answers(broker=True, extra={404: _USER_ID}),
    "KotakIntegrationQuotesView.get": Answers(broker=True, extra={404: _USER_ID}),
    "KotakIntegrationStatusView.get": Answers(extra={404: _USER_ID}),
    # Seed 003's own paths (compat/zerodha_dashboard).
    "ZerodhaDashboardApiSetupView.post": Answers(broker=True),  # the adapter's login_start makes the login URL
    "ZerodhaDashboardLoginUrlView.get": Answers(broker=True, extra={
        404: "No Zerodha API credentials of the caller's are set up (or not for the account named)."}),
    "ZerodhaDashboardActivateView.post": Answers(broker=True, extra={
        404: "No Zerodha login of the caller's is waiting for a request_token (or not for the account named)."}),
    "ZerodhaDashboardView.get": _SYNCS,
    "WebsocketStatusView.get": Answers(),
    "WebsocketSubscriptionsView.get": Answers(),
    "WebsocketUnsubscribeView.post": Answers(extra={
        404: "No market socket of the caller's with this client_id is connected (another user's is never found)."}),
    "WebsocketDisconnectView.post": Answers(),
    "ZerodhaPostbackView.post": Answers(extra={
        403: "The checksum does not match any connected account's API secret; nothing changed.",
        502: "The postback could not be read."}),
}

WHY = {
    400: "Invalid input: `errors` names each field at fault (or a malformed request).",
    401: "No access JWT, or an invalid or expired one.",
    404: "Not found, or not yours.",
    406: "The Accept header allows no JSON.",
    409: "The account is not connected, or the broker found its session expired (the connection is now "
         "`expired`: reconnect).",
    413: "The request body is larger than MAX_REQUEST_BODY_BYTES.",
    415: "The body is not JSON: send Content-Type: application/json.",
    429: "Rate limited: retry after X-RateLimit-Reset (Retry-After gives the seconds).",
    502: "The broker failed or answered something unreadable.",
    503: "The database or Redis is unavailable; retry after Retry-After seconds.",
    504: "The broker did not answer within BROKER_TIMEOUT_SECONDS.",
}
MALFORMED = "A malformed request (its Host or Content-Length header, say)."
BROKER_REFUSED = "The broker refused the request (a TOTP, MPIN, key or order) with its reason."
BROKER_UNREACHABLE = "The broker is unreachable, or the database or Redis is unavailable."
ACCOUNT_HEADER = "X-Account-ID"

RATE_LIMIT_HEADERS = {
    "X-RateLimit-Limit": "Requests allowed in the current one-minute window.",
    "X-RateLimit-Remaining": "Requests left in the current window.",
    "X-RateLimit-Reset": "When the current window ends (Unix seconds).",
}
RETRY_AFTER = {"Retry-After": "Seconds to wait before trying again: always on a 429, on a 503 of an outage."}


def operation_key(view, method: str) -> str:
    """`ClassName.method`, the key of OPERATIONS."""
    return f"{type(view).__name__}.{method.lower()}"


class ErrorDocumentingAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema, plus every error status the operation can answer, in the error shape."""

    def answers(self) -> Answers:
        key = operation_key(self.view, self.method)
        if key not in OPERATIONS:
            warn(f"{key} ({self.method} {self.path}) is not in budhitrade.schema.OPERATIONS: say there what it "
                 f"can answer (does it wait on a broker? which statuses does its own code answer?).")
            return Answers(broker=True)
        return OPERATIONS[key]

    def error_statuses(self, operation: dict, answers: Answers) -> dict[str, str]:
        """Each error status of the operation -> why it is answered."""
        parameters = operation.get("parameters", [])
        takes_input = bool(parameters) or "requestBody" in operation
        statuses: dict[int, list[str]] = {400: [WHY[400] if takes_input else MALFORMED], 406: [WHY[406]],
                                          413: [WHY[413]], 429: [WHY[429]]}
        if self.view.get_authenticators():
            statuses[401] = [WHY[401]]
        if any(p["in"] == "path" for p in parameters) or any(
                p["in"] == "header" and p["name"] == ACCOUNT_HEADER for p in parameters):
            statuses[404] = [WHY[404]]
        if "requestBody" in operation:
            statuses[415] = [WHY[415]]
        if answers.store:
            statuses[503] = [WHY[503]]
        if answers.broker:
            statuses[400].append(BROKER_REFUSED)
            statuses[409] = [WHY[409]]
            statuses[502] = [WHY[502]]
            statuses[503] = [BROKER_UNREACHABLE]
            statuses[504] = [WHY[504]]
        for status, why in answers.extra.items():
            statuses.setdefault(status, []).insert(0, why)
        return {str(status): " ".join(reasons) for status, reasons in sorted(statuses.items())}

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        answers = self.answers()
        responses = operation["responses"]
        success = next((responses[code] for code in sorted(responses) if code.startswith("2")), None)
        for status, why in self.error_statuses(operation, answers).items():
            if int(status) in answers.own_body and success is not None:
                responses.setdefault(status, {**success, "description": answers.extra.get(int(status), why)})
            else:
                responses[status] = self._error_response(responses.get(status), why)
        for status, response in responses.items():
            response["headers"] = {**self._headers(status), **response.get("headers", {})}
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _error_response(self, declared: dict | None, why: str) -> dict:
        """The error shape; a body the view declared itself is kept, beside the error shape where it needs
        fields that other errors of that status (invalid input, say) do not carry."""
        error = self._get_response_for_code(ErrorSerializer, "400")
        if not declared or "content" not in declared:
            return {**error, "description": why}
        declared = {**declared, "description": declared.get("description") or why}
        error_schema = error["content"]["application/json"]["schema"]
        for media in declared["content"].values():
            schema = media.get("schema", {})
            if schema != error_schema and not set(self._required_of(schema)) <= ERROR_FIELDS:
                media["schema"] = {"anyOf": [schema, error_schema]}
        return declared

    def _required_of(self, schema: dict) -> list[str]:
        ref = schema.get("$ref", "")
        if ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[1]
            component = self.registry[(name, ResolvedComponent.SCHEMA)]
            return component.schema.get("required", [])
        return schema.get("required", [])

    def _headers(self, status: str) -> dict:
        headers = dict(RATE_LIMIT_HEADERS)
        if status in ("429", "503"):
            headers.update(RETRY_AFTER)
        refs = {}
        for name, description in headers.items():
            component = ResolvedComponent(
                name=name, type=ResolvedComponent.HEADER, object=name,
                schema={"description": description, "schema": {"type": "integer"},
                        "required": name not in RETRY_AFTER},
            )
            self.registry.register_on_missing(component)
            refs[name] = component.ref
        return refs
