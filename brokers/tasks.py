"""Periodic broker jobs; each only calls a service."""

from celery import shared_task

from brokers import services


@shared_task
def connection_expire_due_task() -> int:
    """Mark every connection whose broker session has ended as expired."""
    return services.connection_expire_due()
