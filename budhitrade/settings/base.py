"""Settings for every environment, read from the process environment.

With nothing set, BudhiTrade generates its keys into ``BUDHITRADE_STATE_DIR``.
The database is always PostgreSQL at ``DATABASE_URL``: ``make run`` and
``make test`` run under ``python -m budhitrade.embedded``, which starts an
embedded PostgreSQL (and Redis) from the venv when it is unset (see README).
``production.py`` refuses to start without real keys.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean, not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}") from exc


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


STATE_DIR = Path(env_str("BUDHITRADE_STATE_DIR") or BASE_DIR / "state").resolve()


def state_file_secret(filename: str, generate) -> str:
    """Read a generated secret from the state dir, creating it once (mode 0600)."""
    path = STATE_DIR / filename
    if not path.exists():
        STATE_DIR.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(generate())
    return path.read_text().strip()


def _generate_fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


# --- Core ------------------------------------------------------------------
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY") or state_file_secret("secret_key", get_random_secret_key)
# Newest key first; older keys still decrypt until `rotate_encryption_keys` has run.
ENCRYPTION_KEYS = env_list("ENCRYPTION_KEY") or [
    state_file_secret("encryption.key", _generate_fernet_key)
]
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Expression indexes with operator classes (the instrument search's, brokers/models.py) need its wrappers.
    "django.contrib.postgres",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "budhitrade",
    "brokers",
    "brokers.paper",
    "portfolio",
    "orders",
    "analytics",
]

MIDDLEWARE = [
    "budhitrade.middleware.RateLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    # Ahead of every reader of the body (sessions, CSRF, forms, DRF), so an oversized one is a 413.
    "budhitrade.middleware.BodySizeLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "budhitrade.urls"
APPEND_SLASH = False
WSGI_APPLICATION = None
ASGI_APPLICATION = "budhitrade.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database --------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if not DATABASE_URL:
    raise ImproperlyConfigured(
        "DATABASE_URL is not set: set it to a PostgreSQL server (postgres://user:password@host:5432/budhitrade), "
        "or run the command through `python -m budhitrade.embedded`, which starts an embedded PostgreSQL "
        "(as `make run` and `make test` do)."
    )
# A connection pool per process, not persistent connections: daphne runs each sync request in a new
# thread, so CONN_MAX_AGE would leave one connection behind per request (Django's advice for ASGI).
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
    "min_size": 1, "max_size": env_int("DB_POOL_MAX_SIZE", 20),
    # Riding out a database outage: a request waits at most `timeout` for a connection, then answers
    # 503 (the worker's threads are fewer than the pool's connections, so only an outage makes one
    # wait that long); a connection attempt that keeps failing is given up after `reconnect_timeout`,
    # so the next request tries afresh the moment the server is back, rather than after the pool's
    # doubling backoff (which reaches minutes).
    "timeout": float(env_str("DB_POOL_TIMEOUT_SECONDS", "3")), "reconnect_timeout": 5,
}
DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", 3)
# A pooled connection is checked as it is taken, so one broken by an outage is replaced, not handed out.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: cache, channel layer, Celery -----------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "budhitrade",
            # Handed to redis-py's connection pool: a Redis that stops answering (blackholed) fails a cache call,
            # and so a fill's hook, within seconds (explicit: redis-py before 8 waits for the kernel's TCP timeout).
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 3},
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # redis-py 8 reads with a 5 s socket timeout by default, which cuts the layer's blocking
            # 5 s BZPOPMIN on every idle socket (channels_redis#422): give reads more than that.
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 30}], "prefix": "budhitrade:ws"},
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    CELERY_TASK_ALWAYS_EAGER = False
else:
    # No Redis: one process only (tests, `manage.py shell`). `make run` always
    # provides a Redis, embedded or real, so its processes can reach each other.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CELERY_BROKER_URL = "memory://"
    CELERY_RESULT_BACKEND = "cache+memory://"
    CELERY_TASK_ALWAYS_EAGER = True

CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = "Asia/Kolkata"
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# RedBeat keeps the schedule in Redis and holds a lock, so several beat
# processes can run for availability while only one of them sends tasks.
CELERY_REDBEAT_REDIS_URL = REDIS_URL or None
CELERY_REDBEAT_KEY_PREFIX = "budhitrade:redbeat:"
CELERY_REDBEAT_LOCK_TIMEOUT = 60
CELERY_BEAT_MAX_LOOP_INTERVAL = 10
# --- Riding out a Redis outage (settings where the libraries have them) -----------
# Beat: RedBeat's scheduler with a tick that survives Redis going away and the lock lapsing meanwhile
# (budhitrade/beat.py says why no RedBeat option does it).
CELERY_BEAT_SCHEDULER = "budhitrade.beat:RedBeatScheduler"
# Worker: reconnect to the broker for as long as it takes (Celery gives up after 100 tries by default
# and the worker exits); a result that cannot be stored yet is retried rather than lost.
CELERY_BROKER_CONNECTION_RETRY = True
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_RESULT_BACKEND_ALWAYS_RETRY = True
CELERY_RESULT_BACKEND_MAX_SLEEP_BETWEEN_RETRIES_MS = 2000
# A task queued from a request while Redis is down fails within a few seconds (a 503), not after
# kombu's default connection retries.
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 3, "socket_timeout": 10, "max_retries": 2,
                                   "interval_start": 0, "interval_step": 0.5, "interval_max": 1}
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 3
CELERY_REDBEAT_REDIS_OPTIONS = {"socket_connect_timeout": 3, "socket_timeout": 5}

# --- Auth ------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
ALLOW_REGISTRATION = env_bool("ALLOW_REGISTRATION", True)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["budhitrade.parsers.BoundedJSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Every status an operation can answer, with its body (budhitrade/schema.py).
    "DEFAULT_SCHEMA_CLASS": "budhitrade.schema.ErrorDocumentingAutoSchema",
    "EXCEPTION_HANDLER": "budhitrade.exceptions.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # Money and prices are JSON numbers in rupees (CONTRACT).
    "COERCE_DECIMAL_TO_STRING": False,
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("JWT_ACCESS_MINUTES", 30)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env_int("JWT_REFRESH_DAYS", 7)),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "UPDATE_LAST_LOGIN": False,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "BudhiTrade API",
    "DESCRIPTION": (
        "One broker-agnostic API over Kotak Neo, Zerodha and a paper broker. "
        "Errors are always {detail, status_code[, errors]}."
    ),
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- HTTP edges ------------------------------------------------------------
CORS_ALLOWED_ORIGINS = env_list("CORS_ORIGINS")
CORS_EXPOSE_HEADERS = ["X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"]
CORS_ALLOW_HEADERS = [
    "accept",
    "authorization",
    "content-type",
    "idempotency-key",
    "x-account-id",
]
FRONTEND_URL = env_str("FRONTEND_URL", "http://localhost:3000/")
MAX_REQUEST_BODY_BYTES = env_int("MAX_REQUEST_BODY_BYTES", 256 * 1024)
# Django's own bound, for a body that declares no length; never above ours (both answer 413).
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES
RATE_LIMIT_ANON_PER_MINUTE = env_int("RATE_LIMIT_ANON_PER_MINUTE", 100)
RATE_LIMIT_USER_PER_MINUTE = env_int("RATE_LIMIT_USER_PER_MINUTE", 1000)
# Broker postbacks come from the broker's few servers for every user's orders (and carry a checksum): their own,
# larger per-IP budget, so an update is not refused on the anonymous one.
RATE_LIMIT_POSTBACK_PER_MINUTE = env_int("RATE_LIMIT_POSTBACK_PER_MINUTE", 6000)
POSTBACK_PATHS = ("/broker/zerodha/postback",)

# --- Brokers ---------------------------------------------------------------
BROKER_TIMEOUT_SECONDS = float(env_str("BROKER_TIMEOUT_SECONDS", "10"))
ZERODHA_API_ROOT = env_str("ZERODHA_API_ROOT") or None
ZERODHA_LOGIN_STATE_MAX_AGE = env_int("ZERODHA_LOGIN_STATE_MAX_AGE", 15 * 60)
# Kite's market ticker WebSocket (a local server in tests); None means kiteconnect's own wss://ws.kite.trade.
KITE_TICKER_URL = env_str("KITE_TICKER_URL") or None
KOTAK_NEO_SESSION_HOURS = env_int("KOTAK_NEO_SESSION_HOURS", 24)
# A custom httpx transport for the Kotak Neo SDK (proxy, mTLS, recorded
# responses in tests). None means the SDK's own.
KOTAK_NEO_TRANSPORT = None
# The Kotak Neo order feed's URL when it is not the session's own (a proxy; tests).
KOTAK_NEO_ORDER_FEED_URL = env_str("KOTAK_NEO_ORDER_FEED_URL") or None
# The Kotak Neo market feed's (SFeed) URL when it is not the session's own (a proxy; tests).
KOTAK_NEO_FEED_URL = env_str("KOTAK_NEO_FEED_URL") or None
PAPER_OPENING_CASH = env_str("PAPER_OPENING_CASH", "1000000")
# The paper market's random seed: the same seed and clock give the same prices.
PAPER_SEED = env_int("PAPER_SEED", 2026)
# How often the paper market process advances the market to the wall clock.
PAPER_MARKET_INTERVAL_SECONDS = float(env_str("PAPER_MARKET_INTERVAL_SECONDS", "1"))
# Simulated round-trip latency of each paper broker call (benchmarks, realism).
PAPER_LATENCY_SECONDS = float(env_str("PAPER_LATENCY_SECONDS", "0"))
# The paper exchange's hours: "nse" (09:15-15:30 IST, weekdays) or "always" (00:00-23:59 every day,
# for practice outside NSE hours).
PAPER_MARKET_HOURS = env_str("PAPER_MARKET_HOURS", "nse")
if PAPER_MARKET_HOURS not in ("nse", "always"):
    raise ImproperlyConfigured("PAPER_MARKET_HOURS is nse or always.")
# Trading days of paper-market history the demo replays on first run.
PAPER_DEMO_HISTORY_DAYS = env_int("PAPER_DEMO_HISTORY_DAYS", 7)
# How often the paper market's stream reads the market for ticks (the market-feed process).
PAPER_STREAM_INTERVAL_SECONDS = float(env_str("PAPER_STREAM_INTERVAL_SECONDS", "0.5"))

# --- Analytics -------------------------------------------------------------
# Underlyings whose option chains and futures are captured each minute in market hours.
ANALYTICS_UNDERLYINGS = [name.upper() for name in env_list("ANALYTICS_UNDERLYINGS", "NIFTY,BANKNIFTY")]
# The BrokerConnection account_id whose quotes capture reads (Kite, Kotak Neo); empty, or a paper account: the
# paper market.
ANALYTICS_ACCOUNT_ID = env_str("ANALYTICS_ACCOUNT_ID", "")
# Snapshots older than this many days are pruned daily.
ANALYTICS_RETENTION_DAYS = env_int("ANALYTICS_RETENTION_DAYS", 30)
# The rate IV and greeks are read at (Black-76 discounting, the parity forward); the paper market prices at 6.5%.
ANALYTICS_RISK_FREE_RATE = float(env_str("ANALYTICS_RISK_FREE_RATE", "0.065"))

# The market-feed process (brokers/market/feed.py): how often it rereads what the web processes want besides
# their notes; how long an upstream stream may send nothing while the market is open before it is called stale
# and reopened; how long an instrument no socket wants stays subscribed (a reloading tab does not churn); how
# long its lock lives unrenewed before a standby feed takes over.
# Every market-stream key and pub/sub channel starts with this. Redis pub/sub channels are server-wide, not per
# database, so two deployments (or test runs) on one Redis server stay apart only by prefix: by default it names
# REDIS_URL's database number.
MARKET_KEY_PREFIX = env_str("MARKET_KEY_PREFIX", "") or "bt:mkt:{}:".format(
    (REDIS_URL or "").rsplit("/", 1)[-1] if (REDIS_URL or "").rsplit("/", 1)[-1].isdigit() else "0")
MARKET_FEED_RESCAN_SECONDS = float(env_str("MARKET_FEED_RESCAN_SECONDS", "2"))
MARKET_FEED_STALE_SECONDS = float(env_str("MARKET_FEED_STALE_SECONDS", "10"))
MARKET_FEED_GRACE_SECONDS = float(env_str("MARKET_FEED_GRACE_SECONDS", "5"))
MARKET_FEED_LOCK_SECONDS = float(env_str("MARKET_FEED_LOCK_SECONDS", "10"))
# Broker API budgets per account: (calls, seconds). Kite allows 10 requests a
# second per API key; Kotak Neo allows 25 requests a second (and 10 orders, BROKER_ORDER_RATE_LIMITS).
# The paper exchange has none.
BROKER_API_RATE_LIMITS = {
    "zerodha": (env_int("ZERODHA_API_CALLS_PER_SECOND", 10), 1),
    "kotak_neo": (env_int("KOTAK_NEO_API_CALLS_PER_SECOND", 25), 1),
}
# Order budgets per account, paced through Redis: [(orders, seconds), ...].
BROKER_ORDER_RATE_LIMITS = {
    "zerodha": [(10, 1), (400, 60), (5000, 86400)],
    "kotak_neo": [(10, 1)],
}
# Kite refuses a 26th modification of one order.
BROKER_MODIFICATIONS_PER_ORDER = {"zerodha": 25}
ORDER_RECONCILE_INTERVAL_SECONDS = env_int("ORDER_RECONCILE_INTERVAL_SECONDS", 5)  # one reconcile per account per interval
# Market-quote budgets per account, paced through Redis: (requests, seconds). Kite allows one quote request
# (/quote, /quote/ohlc, /quote/ltp alike) a second; a longer list of instruments is batched and waits its turn.
BROKER_QUOTE_RATE_LIMITS = {
    "zerodha": (env_int("ZERODHA_QUOTE_CALLS_PER_SECOND", 1), 1),
}
# A synced portfolio younger than this is served as it is unless `force`/`fresh`.
PORTFOLIO_FRESH_SECONDS = env_int("PORTFOLIO_FRESH_SECONDS", 30)

# --- i18n / time -----------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "Asia/Kolkata"
USE_I18N = False
USE_TZ = True

# --- Static files (admin and API docs, served by WhiteNoise under daphne) --
STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT") or STATE_DIR / "static")
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# --- Logging ---------------------------------------------------------------
LOG_FORMAT = env_str("LOG_FORMAT", "text")
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"mask_secrets": {"()": "budhitrade.logging.SecretMaskingFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "message": "event"},
        },
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s %(context)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "text",
            "filters": ["mask_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "daphne": {"level": "WARNING"},
    },
}

# The Kotak Neo SDK logs through structlog to stdout and, unless told not to,
# to ./logs/; BudhiTrade logs broker events itself, without secrets.
os.environ.setdefault("NEO_LOG_FILE_ENABLED", "false")
os.environ.setdefault("NEO_LOG_LEVEL", "CRITICAL")
os.environ.setdefault("NEO_HOLDINGS_CACHE_DIR", str(STATE_DIR / "neo_holdings_cache"))
