"""Orders for staff: read-only, with their history inline, and a cancel action."""

from django.contrib import admin, messages

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
    fields = readonly_fields = ("trade_id", "quantity", "price", "fill_timestamp")


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

    @admin.action(description="Cancel selected open orders at the broker")
    def cancel_selected(self, request, queryset):
        for order in queryset.select_related("connection"):
            try:
                services.order_cancel(order=order)
            except ServiceError as error:
                self.message_user(request, f"{order.order_id}: {error.detail}", messages.WARNING)
            else:
                self.message_user(request, f"{order.order_id}: cancelled")
