"""Read-only portfolio views for staff, per connection."""

from django.contrib import admin

from budhitrade.admin import ReadOnlyAdminMixin
from portfolio.models import AccountSync, DailySnapshot, Funds, Holding, Position


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Synced from the broker; staff look, never edit."""

    list_select_related = ("connection", "connection__user")
    search_fields = ("connection__account_id", "connection__user__username")


@admin.register(Holding)
class HoldingAdmin(ReadOnlyAdmin):
    list_display = ("connection", "tradingsymbol", "exchange", "quantity", "average_price", "last_price", "pnl")
    list_filter = ("exchange",)


@admin.register(Position)
class PositionAdmin(ReadOnlyAdmin):
    list_display = ("connection", "tradingsymbol", "exchange", "product", "quantity", "average_price", "pnl", "day_pnl")
    list_filter = ("exchange", "product")


@admin.register(Funds)
class FundsAdmin(ReadOnlyAdmin):
    list_display = ("connection", "segment", "enabled", "net")


@admin.register(AccountSync)
class AccountSyncAdmin(ReadOnlyAdmin):
    list_display = ("connection", "synced_at", "holdings_count", "positions_count", "last_attempt_at", "last_error")


@admin.register(DailySnapshot)
class DailySnapshotAdmin(ReadOnlyAdmin):
    list_display = ("connection", "date", "value", "pnl", "day_pnl", "unused_funds", "allocated_funds")
    list_filter = ("date",)
    date_hierarchy = "date"
