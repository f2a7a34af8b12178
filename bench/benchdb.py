"""What every benchmark shares: a bench database dropped and created afresh on each run."""

from __future__ import annotations

import sys
from urllib.parse import urlsplit, urlunsplit


def database_recreate(database_url: str) -> None:
    """Drop and create the bench database on its server (its name must contain "bench")."""
    import psycopg

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    if "bench" not in name:
        sys.exit(f"refusing to drop database {name!r}: a bench database's name contains 'bench'")
    scheme = "postgresql" if parts.scheme in ("postgres", "postgresql") else parts.scheme
    with psycopg.connect(urlunsplit((scheme, parts.netloc, "/postgres", "", "")), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
