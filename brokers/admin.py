"""Staff view of broker connections. Encrypted fields are never rendered."""

from django.contrib import admin, messages

from brokers import services
from brokers.domain import ConnectionStatus
from brokers.models import BrokerConnection, BrokerInstrument, InstrumentMaster
from brokers.paper.models import PaperAccount, PaperInstrument
from budhitrade.admin import ReadOnlyAdminMixin
from budhitrade.errors import ServiceError


@admin.register(BrokerConnection)
class BrokerConnectionAdmin(admin.ModelAdmin):
    list_display = (
        "user",
        "broker",
        "account_id",
        "status",
        "last_connected_at",
        "session_expires_at",
        "updated_at",
    )
    list_filter = ("broker", "status")
    search_fields = ("user__username", "user__email", "account_id", "user_name")
    list_select_related = ("user",)
    ordering = ("-updated_at",)
    # credentials and session are not editable fields, so no form or page
    # shows them; everything else is read-only, changed only through actions.
    fields = (
        "user",
        "broker",
        "account_id",
        "user_name",
        "status",
        "options",
        "last_connected_at",
        "session_expires_at",
        "last_error",
        "created_at",
        "updated_at",
    )
    readonly_fields = fields
    actions = ("disconnect_selected", "expire_selected", "sync_selected")

    def has_add_permission(self, request):
        # A connection needs the user's own broker login; it starts from the API.
        return False

    @admin.action(description="Disconnect (log out at the broker, wipe the session)")
    def disconnect_selected(self, request, queryset):
        count = 0
        for connection in queryset.exclude(status=ConnectionStatus.DISCONNECTED):
            services.connection_disconnect(connection=connection)
            count += 1
        self.message_user(request, f"{count} connection(s) disconnected.", messages.SUCCESS)

    @admin.action(description="Expire the broker session")
    def expire_selected(self, request, queryset):
        count = 0
        for connection in queryset.filter(status=ConnectionStatus.CONNECTED):
            services.connection_expire(connection=connection, reason=f"Expired by staff ({request.user.username}).")
            count += 1
        self.message_user(request, f"{count} session(s) expired.", messages.SUCCESS)


    @admin.action(description="Sync portfolio now")
    def sync_selected(self, request, queryset):
        from portfolio.services import account_sync

        synced, failed = 0, []
        for connection in queryset.filter(status=ConnectionStatus.CONNECTED):
            try:
                account_sync(connection=connection, force=True)
                synced += 1
            except ServiceError as error:
                failed.append(f"{connection.account_id}: {error.detail}")
        self.message_user(request, f"{synced} account(s) synced.", messages.SUCCESS)
        if failed:
            self.message_user(request, "Not synced: " + "; ".join(failed), messages.WARNING)


@admin.register(PaperAccount)
class PaperAccountAdmin(admin.ModelAdmin):
    list_display = ("account_id", "opening_cash", "created_at")
    search_fields = ("account_id",)
    readonly_fields = ("account_id", "created_at")


@admin.register(PaperInstrument)
class PaperInstrumentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The paper exchange's listing and live state; the market process writes it, staff only look."""

    list_display = ("tradingsymbol", "exchange", "instrument_type", "expiry", "strike", "lot_size", "last_price",
                    "close_price", "volume", "oi", "active")
    list_filter = ("exchange", "instrument_type", "underlying", "active", "expiry")
    search_fields = ("tradingsymbol", "name", "isin", "=token")


@admin.register(InstrumentMaster)
class InstrumentMasterAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """When each broker's instrument master was last loaded (beat loads it after 08:30 IST)."""

    list_display = ("broker", "listed_on", "loaded_at", "count")


@admin.register(BrokerInstrument)
class BrokerInstrumentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The real brokers' instruments as their masters list them; orders are checked against these."""

    list_display = ("tradingsymbol", "exchange", "broker", "instrument_type", "expiry", "strike", "lot_size",
                    "tick_size", "listed_on")
    list_filter = ("broker", "exchange", "instrument_type")
    search_fields = ("tradingsymbol", "name", "=token")
