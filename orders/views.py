"""Orders (seed 004 §3; modify, cancel, history and trades per 001/002)."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import F
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from brokers.domain import Broker, OrderChange, OrderRequest, OrderStatus
from budhitrade.errors import InvalidInput, NotFound
from orders import batches, pushes, selectors, services
from orders.idempotency import idempotent_run, order_place_under
from orders.models import Order
from portfolio.views import account_from_path

MONEY = {"max_digits": 14, "decimal_places": 2, "min_value": Decimal("0.01")}
IDEMPOTENCY_HEADER = OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
                                      description="The same key and body within 24 h returns the first result.")


class OrderInputSerializer(serializers.Serializer):
    """Seed 004 §3.2's rules, plus variety and disclosed quantity."""

    tradingsymbol = serializers.CharField(min_length=1, max_length=50)
    exchange = serializers.ChoiceField(["NSE", "NFO", "BSE", "BFO", "MCX"])
    transaction_type = serializers.ChoiceField(["BUY", "SELL"])
    quantity = serializers.IntegerField(min_value=1, max_value=10000)
    order_type = serializers.ChoiceField(["MARKET", "LIMIT", "SL", "SL-M"])
    product = serializers.ChoiceField(["CNC", "MIS", "NRML"])
    price = serializers.DecimalField(**MONEY, required=False, allow_null=True)
    trigger_price = serializers.DecimalField(**MONEY, required=False, allow_null=True)
    validity = serializers.ChoiceField(["DAY", "IOC"], default="DAY")
    variety = serializers.ChoiceField(["regular", "amo"], default="regular")
    disclosed_quantity = serializers.IntegerField(min_value=0, default=0)
    tag = serializers.RegexField(r"^[A-Za-z0-9_-]{1,20}$", required=False, default="",
                                 error_messages={"invalid": "Up to 20 letters, digits, _ or -."})

    def validate(self, data):
        errors = {}
        if data["order_type"] in ("LIMIT", "SL") and not data.get("price"):
            errors["price"] = ["Required for LIMIT and SL orders."]
        if data["order_type"] in ("SL", "SL-M") and not data.get("trigger_price"):
            errors["trigger_price"] = ["Required for SL and SL-M orders."]
        if data["order_type"] in ("MARKET", "SL-M") and data.get("price"):
            errors["price"] = ["MARKET and SL-M orders take no price."]
        if data["disclosed_quantity"] > data["quantity"]:
            errors["disclosed_quantity"] = ["Cannot exceed the quantity."]
        if data["product"] == "CNC" and data["exchange"] not in ("NSE", "BSE"):
            errors["product"] = ["CNC (delivery) is for NSE and BSE equity; use NRML or MIS for derivatives."]
        if data["product"] == "NRML" and data["exchange"] in ("NSE", "BSE"):
            errors["product"] = ["NRML is for derivatives; use CNC or MIS on NSE and BSE."]
        if errors:
            raise serializers.ValidationError(errors)
        return data

    def to_request(self) -> OrderRequest:
        data = self.validated_data
        return OrderRequest(**{**data, "price": data.get("price"), "trigger_price": data.get("trigger_price")})


class OrderChangeSerializer(serializers.Serializer):
    quantity = serializers.IntegerField(min_value=1, max_value=10000, required=False)
    price = serializers.DecimalField(**MONEY, required=False)
    trigger_price = serializers.DecimalField(**MONEY, required=False)
    order_type = serializers.ChoiceField(["MARKET", "LIMIT", "SL", "SL-M"], required=False)
    validity = serializers.ChoiceField(["DAY", "IOC"], required=False)

    def validate(self, data):
        if not data:
            raise serializers.ValidationError("Give at least one of quantity, price, trigger_price, order_type, validity.")
        return data


class BatchInputSerializer(serializers.Serializer):
    orders = serializers.ListField(child=serializers.DictField(), min_length=1, max_length=20)
    rollback_on_failure = serializers.BooleanField(default=False)


class OrderOutputSerializer(serializers.Serializer):
    order_id = serializers.CharField()
    exchange_order_id = serializers.CharField()
    tradingsymbol = serializers.CharField()
    exchange = serializers.CharField()
    transaction_type = serializers.CharField()
    order_type = serializers.CharField()
    product = serializers.CharField()
    variety = serializers.CharField()
    validity = serializers.CharField()
    quantity = serializers.IntegerField()
    pending_quantity = serializers.IntegerField()
    filled_quantity = serializers.IntegerField()
    cancelled_quantity = serializers.IntegerField()
    disclosed_quantity = serializers.IntegerField()
    validity_ttl = serializers.IntegerField(allow_null=True, help_text="Minutes, for a TTL validity.")
    price = serializers.FloatField(allow_null=True)
    trigger_price = serializers.FloatField(allow_null=True)
    average_price = serializers.FloatField()
    status = serializers.CharField()
    status_message = serializers.CharField()
    tag = serializers.CharField()
    order_timestamp = serializers.DateTimeField(allow_null=True)
    exchange_timestamp = serializers.DateTimeField(allow_null=True)
    exchange_update_timestamp = serializers.DateTimeField(allow_null=True)


def _order_body(order: Order) -> dict:
    body = OrderOutputSerializer(order).data
    body["average_price"] = round(body["average_price"], 2)
    return body


PLACE_OUTPUT = inline_serializer("OrderPlaceOutput", {
    "status": serializers.CharField(), "account_id": serializers.CharField(), "success": serializers.BooleanField(),
    "order_id": serializers.CharField(), "message": serializers.CharField()})
REJECTED_OUTPUT = inline_serializer("OrderRejectedOutput", {
    "status": serializers.CharField(), "success": serializers.BooleanField(), "error": serializers.CharField(),
    "detail": serializers.CharField(), "status_code": serializers.IntegerField(),
    "order_id": serializers.CharField(required=False, help_text="The saved order, which is kept"),
    "order_status": serializers.CharField(required=False)})
SAVED_ORDER_ERROR = inline_serializer("OrderErrorOutput", {
    "detail": serializers.CharField(), "status_code": serializers.IntegerField(),
    "order_id": serializers.CharField(required=False, help_text="The saved order, which is kept"),
    "order_status": serializers.CharField(required=False, help_text="UNKNOWN while BudhiTrade asks the broker's "
                                                                    "book; REJECTED when it was not sent")})
LIST_OUTPUT = inline_serializer("OrderListOutput", {
    "status": serializers.CharField(), "account_id": serializers.CharField(), "count": serializers.IntegerField(),
    "orders": OrderOutputSerializer(many=True)})


class OrderListCreateView(APIView):
    """The account's orders (newest first), and placing one."""

    @extend_schema(operation_id="orders_list", parameters=[
        OpenApiParameter("status", str, required=False, enum=[s.value for s in OrderStatus]),
        OpenApiParameter("limit", int, required=False, description="1-1000, default 100")],
        responses={200: LIST_OUTPUT})
    def get(self, request, account_id):
        connection = account_from_path(request, account_id)
        status = request.query_params.get("status") or None
        if status is not None and status not in OrderStatus.values:
            raise InvalidInput(f"Unknown status {status!r}; use one of {', '.join(OrderStatus.values)}.")
        limit = selectors.limit_parse(query_params=request.query_params, default=100)
        orders = selectors.order_rows(orders=selectors.order_list(connection=connection, status=status)[:limit])
        return Response({"status": "success", "account_id": connection.account_id, "count": len(orders),
                         "orders": orders})

    @extend_schema(operation_id="orders_place", request=OrderInputSerializer, parameters=[IDEMPOTENCY_HEADER],
                   responses={200: PLACE_OUTPUT, 400: REJECTED_OUTPUT, 409: SAVED_ORDER_ERROR,
                              429: SAVED_ORDER_ERROR, 502: SAVED_ORDER_ERROR, 503: SAVED_ORDER_ERROR,
                              504: SAVED_ORDER_ERROR})
    def post(self, request, account_id):
        connection = account_from_path(request, account_id)
        serializer = OrderInputSerializer(data=request.data if isinstance(request.data, dict) else None)
        serializer.is_valid(raise_exception=True)

        def place(record):
            order = order_place_under(record, connection=connection, request=serializer.to_request())
            return Response({"status": "success", "account_id": connection.account_id, "success": True,
                             "order_id": order.order_id, "message": "Order placed successfully"})

        return idempotent_run(request=request, handler=place)


class OrderDetailView(APIView):
    """One order: read, modify (PATCH) or cancel (DELETE)."""

    @extend_schema(operation_id="orders_detail", responses={200: OrderOutputSerializer})
    def get(self, request, account_id, order_id):
        connection = account_from_path(request, account_id)
        found = selectors.order_rows(orders=selectors.order_find(connection=connection, order_id=order_id)[:1])
        if not found:
            raise NotFound("No such order on this account.")
        return Response(found[0])

    @extend_schema(operation_id="orders_modify", request=OrderChangeSerializer,
                   responses={200: OrderOutputSerializer, 400: REJECTED_OUTPUT})
    def patch(self, request, account_id, order_id):
        order = selectors.order_require(connection=account_from_path(request, account_id), order_id=order_id)
        serializer = OrderChangeSerializer(data=request.data if isinstance(request.data, dict) else None)
        serializer.is_valid(raise_exception=True)
        order = services.order_modify(order=order, change=OrderChange(**serializer.validated_data))
        return Response(_order_body(order))

    @extend_schema(operation_id="orders_cancel", responses={200: OrderOutputSerializer, 400: REJECTED_OUTPUT})
    def delete(self, request, account_id, order_id):
        order = selectors.order_require(connection=account_from_path(request, account_id), order_id=order_id)
        return Response(_order_body(services.order_cancel(order=order)))


class OrderHistoryView(APIView):
    """Every state the order passed through, oldest first."""

    @extend_schema(responses={200: inline_serializer("OrderHistoryOutput", {
        "status": serializers.CharField(), "order_id": serializers.CharField(),
        "history": serializers.ListField(child=serializers.DictField())})})
    def get(self, request, account_id, order_id):
        order = selectors.order_require(connection=account_from_path(request, account_id), order_id=order_id)
        history = list(selectors.order_event_list(order=order).values(
            "status", "filled_quantity", "average_price", "message", "source", timestamp=F("at")))
        for event in history:
            event["average_price"] = float(round(event["average_price"], 2))
            event["timestamp"] = event["timestamp"].isoformat()
        return Response({"status": "success", "order_id": order.order_id, "history": history})


class TradeListView(APIView):
    """The account's fills, newest first; ?order_id= narrows to one order."""

    @extend_schema(parameters=[OpenApiParameter("order_id", str, required=False),
                               OpenApiParameter("limit", int, required=False, description="1-1000, default 500")],
                   responses={200: inline_serializer("TradeListOutput", {
                       "status": serializers.CharField(), "account_id": serializers.CharField(),
                       "count": serializers.IntegerField(), "trades": serializers.ListField(child=serializers.DictField())})})
    def get(self, request, account_id):
        connection = account_from_path(request, account_id)
        limit = selectors.limit_parse(query_params=request.query_params, default=500)
        order_id = request.query_params.get("order_id")
        order = selectors.order_require(connection=connection, order_id=order_id) if order_id else None
        trades = selectors.trade_rows(connection=connection, order=order, limit=limit)
        return Response({"status": "success", "account_id": connection.account_id, "count": len(trades),
                         "trades": trades})


class BatchOrderView(APIView):
    """Seed 004 §3.3: several orders in turn; `rollback_on_failure` cancels the placed ones on the first failure."""

    @extend_schema(request=BatchInputSerializer, parameters=[IDEMPOTENCY_HEADER], responses={200: inline_serializer(
        "BatchOutput", {"status": serializers.CharField(), "account_id": serializers.CharField(),
                        "batch_id": serializers.UUIDField(), "total_orders": serializers.IntegerField(),
                        "succeeded": serializers.IntegerField(), "failed": serializers.IntegerField(),
                        "order_ids": serializers.ListField(child=serializers.CharField()),
                        "results": serializers.ListField(child=serializers.DictField())})})
    def post(self, request, account_id):
        connection = account_from_path(request, account_id)
        batch = BatchInputSerializer(data=request.data if isinstance(request.data, dict) else None)
        batch.is_valid(raise_exception=True)
        requests, errors = [], {}
        for index, raw in enumerate(batch.validated_data["orders"]):
            serializer = OrderInputSerializer(data=raw)
            if serializer.is_valid():
                requests.append(serializer.to_request())
            else:
                errors[f"orders[{index}]"] = [f"{name}: {messages[0]}" for name, messages in serializer.errors.items()]
        if errors:
            raise InvalidInput("Some orders are invalid; nothing was placed.", errors=errors)

        def place(record):
            batch_id, outcomes = batches.batch_place(
                connection=connection, requests=requests,
                rollback_on_failure=batch.validated_data["rollback_on_failure"],
                idempotency_key=record.key if record else "")
            placed = [order for _, order, error in outcomes if order is not None]
            if record is not None and placed:
                record.orders.add(*placed)
            failed = sum(1 for _, order, error in outcomes if error)
            results = [{"tradingsymbol": req.tradingsymbol, "order_id": order.order_id if order else None,
                        "status": order.status if order else "NOT SENT", "error": error or None}
                       for req, order, error in outcomes]
            return Response({
                "status": "success" if not failed else "error", "account_id": connection.account_id,
                "batch_id": str(batch_id), "total_orders": len(requests), "succeeded": len(requests) - failed,
                "failed": failed, "order_ids": [r["order_id"] for r in results if r["order_id"] and not r["error"]],
                "results": results})

        return idempotent_run(request=request, handler=place)


class ZerodhaPostbackSerializer(serializers.Serializer):
    """What Kite's postback must carry for BudhiTrade to read it; the adapter reads the rest."""

    user_id = serializers.CharField()
    order_id = serializers.CharField()
    order_timestamp = serializers.CharField()
    status = serializers.CharField()
    checksum = serializers.CharField(help_text="SHA-256 of order_id + order_timestamp + api_secret")


class ZerodhaPostbackView(APIView):
    """Kite's order postback (no JWT): its checksum is checked against the account's API secret; a bad one is 403."""

    authentication_classes: list = []
    permission_classes: list = []

    @extend_schema(operation_id="zerodha_postback", request=ZerodhaPostbackSerializer,
                   responses={200: inline_serializer("PostbackOutput", {"status": serializers.CharField()}),
                              403: inline_serializer("PostbackRefused", {"detail": serializers.CharField(),
                                                                         "status_code": serializers.IntegerField()})})
    def post(self, request):
        ZerodhaPostbackSerializer(data=request.data).is_valid(raise_exception=True)
        pushes.push_posted_receive(broker=Broker.ZERODHA, payload=request.data)
        return Response({"status": "ok"})
