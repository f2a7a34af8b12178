"""What every app's admin shares."""


class ReadOnlyAdminMixin:
    """Written by brokers and services; staff look, never add, edit or delete."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
