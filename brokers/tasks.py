"""Periodic broker jobs; each only calls a service."""

from celery import shared_task

from brokers import instruments, services


@shared_task
def connection_expire_due_task() -> int:
    """Mark every connection whose broker session has ended as expired."""
    return services.connection_expire_due()


@shared_task
def instruments_refresh_due_task() -> int:
    """Load each real broker's instrument master where the stored one is not the current day's."""
    return instruments.instruments_refresh_due()
