"""Seed 002's market-socket management endpoints: the caller's own sockets, whichever web process holds them.

The state is in Redis (brokers/market/registry.py), so any process answers;
an unsubscribe or a disconnect reaches the socket through its channel-layer
channel. A user sees and touches only their own sockets (another user's is
404); staff see every socket.
"""

from __future__ import annotations

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from brokers.market import keys, registry
from brokers.market.resolve import resolve_instruments
from brokers.models import BrokerConnection
from budhitrade.errors import InvalidInput, NotFound

TOKEN_FIELDS = {"instrument_token": serializers.CharField(), "exchange_segment": serializers.CharField()}


class _InstrumentSerializer(serializers.Serializer):
    """An instrument as the socket takes it; resolve checks the segment (any case, as the socket and the quotes
    endpoint take it) and names an unknown one."""

    instrument_token = serializers.CharField(max_length=64)
    exchange_segment = serializers.CharField(max_length=16, help_text=", ".join(keys.SEGMENT_EXCHANGES))


class UnsubscribeInput(serializers.Serializer):
    client_id = serializers.CharField(max_length=64)
    instrument_tokens = _InstrumentSerializer(many=True, allow_empty=False, max_length=keys.SOCKET_INSTRUMENTS)


def _token(key: str) -> dict:
    segment, token = keys.split_key(key)
    return {"instrument_token": token, "exchange_segment": segment}


def _scope(request) -> int | None:
    """Whose sockets the caller sees: their own, or (staff) everyone's."""
    return None if request.user.is_staff else request.user.pk


def _own(request, client_id: str) -> dict:
    record = registry.client_find(client_id, user_id=_scope(request))
    if record is None:
        raise NotFound(f"No market socket {client_id!r} of yours is connected.")
    return record


def _tell(record: dict, message: dict) -> None:
    async_to_sync(get_channel_layer().send)(record["channel"], {"type": "market.control", **message})


class WebsocketStatusView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="websocket_status", responses={200: inline_serializer("WebsocketStatus", {
        "active_connections": serializers.IntegerField(),
        "clients": serializers.ListField(child=serializers.CharField())})})
    def get(self, request):
        clients = registry.clients_list(user_id=_scope(request))
        return Response({"active_connections": len(clients), "clients": clients})


class WebsocketSubscriptionsView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="websocket_subscriptions", responses={200: inline_serializer(
        "WebsocketSubscriptions", {"client_id": serializers.CharField(),
                                   "subscribed_tokens": inline_serializer("SubscribedToken", TOKEN_FIELDS, many=True),
                                   "count": serializers.IntegerField()})})
    def get(self, request, client_id: str):
        _own(request, client_id)
        tokens = [_token(key) for key in registry.client_subscriptions(client_id)]
        return Response({"client_id": client_id, "subscribed_tokens": tokens, "count": len(tokens)})


class WebsocketUnsubscribeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="websocket_unsubscribe", request=UnsubscribeInput, responses={
        200: inline_serializer("WebsocketUnsubscribed", {
            "status": serializers.CharField(), "client_id": serializers.CharField(),
            "unsubscribed": inline_serializer("UnsubscribedToken", TOKEN_FIELDS, many=True),
            "count": serializers.IntegerField(help_text="Instruments the socket still has.")})})
    def post(self, request):
        body = UnsubscribeInput(data=request.data)
        body.is_valid(raise_exception=True)
        client_id = body.validated_data["client_id"]
        record = _own(request, client_id)
        stream = record.get("stream", keys.PAPER_STREAM)
        connection = None if stream == keys.PAPER_STREAM else BrokerConnection.objects.filter(pk=stream).first()
        if stream != keys.PAPER_STREAM and connection is None:
            raise InvalidInput("The socket's account no longer exists.")
        resolved = resolve_instruments(connection=connection, items=body.validated_data["instrument_tokens"])
        had = registry.client_subscriptions_drop(client_id, [item.key for item in resolved])
        if had:
            _tell(record, {"action": "unsubscribe", "keys": had})
        remaining = len(registry.client_subscriptions(client_id))
        return Response({"status": "success", "client_id": client_id, "unsubscribed": [_token(k) for k in had],
                         "count": remaining})


class WebsocketDisconnectView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="websocket_disconnect", request=None, responses={200: inline_serializer(
        "WebsocketDisconnected", {"status": serializers.CharField(), "client_id": serializers.CharField(),
                                  "message": serializers.CharField()})})
    def post(self, request, client_id: str):
        record = _own(request, client_id)
        _tell(record, {"action": "disconnect", "reason": "Disconnected through /api/websocket/disconnect."})
        return Response({"status": "success", "client_id": client_id,
                         "message": f"Market socket {client_id} is being disconnected."})
