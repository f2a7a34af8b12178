"""Orders for staff: read-only, with their history and fills inline and listed on their own, and a cancel action."""

import uuid

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from budhitrade.admin import ReadOnlyAdminMixin
from budhitrade.errors import ServiceError
from orders import services
from orders.models import Order, OrderEvent, Trade


class ReadOnlyInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    fields = readonly_fields = ("at", "status", "filled_quantity", "average_price", "message", "source")


class TradeInline(ReadOnlyInline):
    model = Trade
    fields = readonly_fields = ("trade_id", "quantity", "price", "fill_timestamp", "exchange_timestamp")


def _changelist_of(model, order: Order, label: str) -> str:
    url = reverse(f"admin:orders_{model._meta.model_name}_changelist")
    return format_html('<a href="{}?order={}">{}</a>', url, order.pk, label)


@admin.register(Order)
class OrderAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("order_id", "connection", "tradingsymbol", "transaction_type", "quantity", "order_type",
                    "status", "filled_quantity", "created_at")
    list_filter = ("status", "connection__broker", "created_at")
    search_fields = ("broker_order_id", "tradingsymbol", "connection__account_id", "connection__user__username")
    list_select_related = ("connection",)
    date_hierarchy = "created_at"
    inlines = [OrderEventInline, TradeInline]
    actions = ["cancel_selected"]
    exclude = ("idempotency_key",)
    readonly_fields = ("events_link", "fills_link")

    @admin.display(description="Events")
    def events_link(self, order: Order) -> str:
        return _changelist_of(OrderEvent, order, f"{order.events.count()} event(s)")

    @admin.display(description="Fills")
    def fills_link(self, order: Order) -> str:
        return _changelist_of(Trade, order, f"{order.trades.count()} fill(s)")

    @admin.action(description="Cancel selected open orders at the broker")
    def cancel_selected(self, request, queryset):
        for order in queryset.select_related("connection"):
            try:
                services.order_cancel(order=order)
            except ServiceError as error:
                self.message_user(request, f"{order.order_id}: {error.detail}", messages.WARNING)
            else:
                self.message_user(request, f"{order.order_id}: cancelled")


class OrderFilter(admin.SimpleListFilter):
    """One order's rows, reached from the order's page (a list of every order would not fit a sidebar)."""

    title = "order"
    parameter_name = "order"

    def lookups(self, request, model_admin):
        if self.value() is None:
            return []
        order = Order.objects.filter(pk=self._order_pk()).first() if self._order_pk() else None
        return [(self.value(), f"{order.order_id}: {order}" if order is not None else "No such order")]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        return queryset.filter(order_id=self._order_pk()) if self._order_pk() else queryset.none()

    def _order_pk(self) -> uuid.UUID | None:
        try:
            return uuid.UUID(str(self.value()))
        except ValueError:
            return None


class OrderChildAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """What an order went through, across orders: filter by account, broker or order; staff only look."""

    list_select_related = ("order", "order__connection", "order__connection__user")
    search_fields = ("order__broker_order_id", "order__tradingsymbol", "order__connection__account_id",
                     "order__connection__user__username")

    @admin.display(description="Order", ordering="order__created_at")
    def order_link(self, row) -> str:
        url = reverse("admin:orders_order_change", args=[row.order_id])
        return format_html('<a href="{}">{}</a>', url, row.order.order_id)

    @admin.display(description="Account", ordering="order__connection__account_id")
    def account(self, row) -> str:
        return str(row.order.connection)


@admin.register(OrderEvent)
class OrderEventAdmin(OrderChildAdmin):
    list_display = ("at", "order_link", "account", "status", "filled_quantity", "average_price", "source", "message")
    list_filter = (OrderFilter, ("order__connection", admin.RelatedOnlyFieldListFilter), "order__connection__broker",
                   "status", "source")
    date_hierarchy = "at"


@admin.register(Trade)
class TradeAdmin(OrderChildAdmin):
    list_display = ("trade_id", "order_link", "account", "quantity", "price", "fill_timestamp", "exchange_timestamp")
    list_filter = (OrderFilter, ("order__connection", admin.RelatedOnlyFieldListFilter), "order__connection__broker")
    search_fields = ("trade_id", *OrderChildAdmin.search_fields)
