"""Staff browse snapshots read-only: capture writes them, nobody edits them."""

from django.contrib import admin

from analytics.models import FutureSnapshot, OptionSnapshot


class ReadOnlyAdmin(admin.ModelAdmin):
    """Listing and detail only: no add, change or delete (retention prunes)."""

    date_hierarchy = "bucket"
    list_per_page = 100
    show_full_result_count = False  # counting millions of rows on every page is the slow part

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OptionSnapshot)
class OptionSnapshotAdmin(ReadOnlyAdmin):
    list_display = ("bucket", "underlying", "expiry", "strike", "option_type", "ltp", "bid", "ask", "oi", "iv",
                    "delta", "source")
    list_filter = ("underlying", "option_type", "source", "expiry")
    search_fields = ("tradingsymbol",)
    ordering = ("-bucket", "underlying", "expiry", "strike", "option_type")


@admin.register(FutureSnapshot)
class FutureSnapshotAdmin(ReadOnlyAdmin):
    list_display = ("bucket", "contract", "open", "high", "low", "close", "volume", "oi", "underlying_price", "source")
    list_filter = ("underlying", "source", "expiry")
    search_fields = ("contract",)
    ordering = ("-bucket", "underlying", "contract")
