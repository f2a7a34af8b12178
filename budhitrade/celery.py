"""The one Celery app and its beat schedule."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "budhitrade.settings.base")

app = Celery("budhitrade")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    "brokers-expire-due-sessions": {
        "task": "brokers.tasks.connection_expire_due_task",
        "schedule": crontab(minute="*"),
    },
    # Brokers publish the day's instruments by 08:30 IST; the first run after that is 08:45. The task loads a
    # master only when it is not current, so later runs are no-ops unless a load failed or was not yet published
    # (or a broker's first account connected later).
    "brokers-load-instrument-masters": {
        "task": "brokers.tasks.instruments_refresh_due_task",
        "schedule": crontab(minute="15,45"),
    },
    # Times are IST (CELERY_TIMEZONE); the tasks check the session themselves.
    "portfolio-sync-in-market-hours": {
        "task": "portfolio.tasks.account_sync_due_task",
        "schedule": crontab(minute="*", hour="9-15", day_of_week="mon-fri"),
    },
    "orders-reconcile": {
        "task": "orders.tasks.order_reconcile_due_task",
        "schedule": crontab(minute="*"),
    },
    "portfolio-daily-snapshot": {
        "task": "portfolio.tasks.account_snapshot_due_task",
        "schedule": crontab(minute=45, hour=15, day_of_week="mon-fri"),
    },
    # Every minute; the task captures only while its source's market is open (the paper market's hours, or NSE's).
    "analytics-capture-snapshots": {
        "task": "analytics.tasks.snapshot_capture_due_task",
        "schedule": crontab(minute="*"),
        "options": {"expires": 50},  # a capture stuck behind a busy worker past its minute is dropped, not late
    },
    "analytics-prune-snapshots": {
        "task": "analytics.tasks.snapshot_prune_due_task",
        "schedule": crontab(minute=5, hour=16),
    },
}
