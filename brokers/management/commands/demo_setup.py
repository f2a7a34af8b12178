"""Create the demo user with a connected paper account, and print how to sign in."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from brokers import services
from brokers.domain import Broker, ConnectionStatus
from brokers.models import BrokerConnection


class Command(BaseCommand):
    help = "Create (once) the demo user and its connected paper account; print the credentials."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="demo")

    def handle(self, *args, username, **options):
        password_file = settings.STATE_DIR / "demo_password"
        if not password_file.exists():
            settings.STATE_DIR.mkdir(parents=True, exist_ok=True)
            password_file.write_text(secrets.token_urlsafe(12))
            password_file.chmod(0o600)
        password = password_file.read_text().strip()

        user, created = get_user_model().objects.get_or_create(username=username)
        if created or not user.check_password(password):
            user.set_password(password)
            user.save()
        has_paper = BrokerConnection.objects.filter(
            user=user, broker=Broker.PAPER, status=ConnectionStatus.CONNECTED
        ).exists()
        if not has_paper:
            services.connection_initiate(
                user=user,
                broker=Broker.PAPER,
                credentials={},
                options={"opening_cash": settings.PAPER_OPENING_CASH},
            )
        account = BrokerConnection.objects.filter(user=user, broker=Broker.PAPER).first()
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo user: {username} / {password}  (paper account {account.account_id})\n"
                f"  Sign in: POST /api/auth/token {{\"username\": \"{username}\", \"password\": \"{password}\"}}"
            )
        )
