"""Django settings. Every value comes from the environment (the README's "Configuration"
table lists them all; a test holds it to this module), parsed with a type by the helpers of
`dojocloud.common.env` and failing loudly at start-up naming the variable; development
defaults are safe only on a laptop. The rest of the platform reads `django.conf.settings`,
never the environment.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from dojocloud.common.env import (
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_optional_path,
    env_path,
    env_str,
    env_url,
)

REPO_DIR = Path(__file__).resolve().parents[2]
BASE_DIR = REPO_DIR

DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY (or DJANGO_SECRET_KEY_FILE) is required when DJANGO_DEBUG is off"
        )
    SECRET_KEY = "dev-only-insecure-secret-key-for-dojo-cloud-development"  # noqa: S105
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

DATA_DIR = env_path("DOJO_DATA_DIR", Path("var"), base=REPO_DIR)
DATA_DIR.mkdir(parents=True, exist_ok=True)
# Object storage (dojocloud.common.storage): a folder, or an S3 bucket through boto3.
STORAGE_URL = env_str("DOJO_STORAGE_URL", "") or (DATA_DIR / "storage").as_uri()
_storage = urlsplit(STORAGE_URL)
if not (
    (_storage.scheme == "file" and not _storage.netloc and _storage.path.startswith("/"))
    or (_storage.scheme == "s3" and _storage.netloc)
):
    raise ImproperlyConfigured(
        f"DOJO_STORAGE_URL must be file:///absolute/path or s3://bucket/prefix, got {STORAGE_URL!r}"
    )
# The standard AWS variables, passed to boto3 explicitly (unset: boto3's own chain).
AWS_ENDPOINT_URL = env_str("AWS_ENDPOINT_URL")
_aws_region, _aws_default_region = env_str("AWS_REGION"), env_str("AWS_DEFAULT_REGION")
AWS_REGION = _aws_region or _aws_default_region
AWS_ACCESS_KEY_ID = env_str("AWS_ACCESS_KEY_ID")
AWS_SECRET_ACCESS_KEY = env_str("AWS_SECRET_ACCESS_KEY")
# Workers keep fetched datasets here, named by sha256 (a cache: safe to delete).
CACHE_DIR = DATA_DIR / "cache"
DATASET_MAX_BYTES = env_int("DOJO_DATASET_MAX_BYTES", 2 * 1024**3, minimum=1)
STORAGE_QUOTA_BYTES = env_int("DOJO_STORAGE_QUOTA_BYTES", 20 * 1024**3, minimum=0)
# A job's artifacts are kept this many days after they are made (0: kept until deleted).
ARTIFACT_RETENTION_DAYS = env_int("DOJO_ARTIFACT_RETENTION_DAYS", 30, minimum=0)
# A job's log is kept this many days after the job ended (0: kept until the job is deleted).
LOG_RETENTION_DAYS = env_int("DOJO_LOG_RETENTION_DAYS", 30, minimum=0)

CLUSTER_FILE = env_path("DOJO_CLUSTER", Path("deploy/clusters/dev.yaml"), base=REPO_DIR)
if not CLUSTER_FILE.is_file():
    raise ImproperlyConfigured(f"DOJO_CLUSTER: inventory file {CLUSTER_FILE} does not exist")
# The price book's seed (billing): read by `migrate` into an empty book and `seed_prices`.
PRICES_FILE = env_path("DOJO_PRICES_FILE", Path("deploy/prices.yaml"), base=REPO_DIR)

REDIS_URL = env_url("REDIS_URL", "redis://127.0.0.1:6379/0", schemes=("redis", "rediss", "unix"))
GRPC_ADDR = env_str("DOJO_GRPC_ADDR", "127.0.0.1:50051")
# TLS for the gRPC API: PEM certificate chain and private key, both or neither. Only paths
# here: `serve_grpc` reads and checks the files at start-up (web and workers never need them).
GRPC_TLS_CERT = env_optional_path("DOJO_GRPC_TLS_CERT", base=REPO_DIR)
GRPC_TLS_KEY = env_optional_path("DOJO_GRPC_TLS_KEY", base=REPO_DIR)
if (GRPC_TLS_CERT is None) != (GRPC_TLS_KEY is None):
    _missing = "DOJO_GRPC_TLS_KEY" if GRPC_TLS_KEY is None else "DOJO_GRPC_TLS_CERT"
    raise ImproperlyConfigured(
        f"{_missing} is required: DOJO_GRPC_TLS_CERT and DOJO_GRPC_TLS_KEY turn on TLS together"
    )
HEARTBEAT_TIMEOUT_S = env_float("DOJO_HEARTBEAT_TIMEOUT_S", 60.0, minimum=1.0)
HEARTBEAT_INTERVAL_S = env_float("DOJO_HEARTBEAT_INTERVAL_S", 5.0, minimum=0.1)
# A job whose worker went silent more than this many times FAILS with NODE_FAILURE.
MAX_LOST_WORKERS = env_int("DOJO_MAX_LOST_WORKERS", 3, minimum=0)
SCHED_INTERVAL_S = env_float("DOJO_SCHED_INTERVAL_S", 5.0, minimum=0.05)
USAGE_HALF_LIFE_S = env_float("DOJO_USAGE_HALF_LIFE_S", 7 * 24 * 3600.0, minimum=1.0)
# What the scheduler assumes a preempted job takes to checkpoint and free its devices (its
# worker stops at the next step boundary, checkpoints and requeues it).
PREEMPT_GRACE_S = env_float("DOJO_PREEMPT_GRACE_S", 60.0, minimum=0.0)
# A job runs this long after each (re)start before reclaim or a shorter job may preempt it.
MIN_RUN_S = env_float("DOJO_MIN_RUN_S", 300.0, minimum=0.0)
OPERATOR_ORG = env_str("DOJO_OPERATOR_ORG", "operators")
DEFAULT_MAX_RUNTIME_S = env_int("DOJO_DEFAULT_MAX_RUNTIME_S", 3600, minimum=1)
MAX_RUNTIME_LIMIT_S = env_int("DOJO_MAX_RUNTIME_LIMIT_S", 7 * 24 * 3600, minimum=1)
METRIC_EVERY_STEPS = env_int("DOJO_METRIC_EVERY_STEPS", 10, minimum=1)
WORKER_METRICS_PORT = env_int("DOJO_WORKER_METRICS_PORT", None, minimum=0, maximum=65535)
# Largest gRPC request the API accepts; a larger one is INVALID_ARGUMENT naming this limit.
GRPC_MAX_MESSAGE_BYTES = env_int(
    "DOJO_GRPC_MAX_MESSAGE_BYTES", 1024 * 1024, minimum=1024, maximum=256 * 1024 * 1024
)
# Threads the API's streams (WatchJob, StreamJobLogs, DownloadArtifact) read the database
# and object storage with; the streams themselves are coroutines. See "Serving" in the README.
GRPC_STREAM_THREADS = env_int("DOJO_GRPC_STREAM_THREADS", 4, minimum=1, maximum=64)
# `manage.py serve_grpc` serves /metrics on this port when set.
GRPC_METRICS_PORT = env_int("DOJO_GRPC_METRICS_PORT", None, minimum=1, maximum=65535)
# The Prometheus server `manage.py reconcile_usage` queries (`make up` starts one there).
PROMETHEUS_URL = env_url("DOJO_PROMETHEUS_URL", "http://127.0.0.1:9090", schemes=("http", "https"))
# Threads each worker's PyTorch may use; 0 keeps torch's default (all cores). Several workers
# on one machine should split the cores: oversubscribed torch threads slow training ~10x.
TORCH_THREADS = env_int("DOJO_TORCH_THREADS", 0, minimum=0)
# Jobs a worker runs at once, each in its own process; 0: one per device of the pools it
# serves (a worker of the 6-tile dojo pool runs six one-tile jobs side by side).
WORKER_SLOTS = env_int("DOJO_WORKER_SLOTS", 0, minimum=0)
# A job process's memory limit (its address space, RLIMIT_AS): its devices' memory, capped by
# this fraction of the host's memory times its share of the worker's slots, and by
# DOJO_JOB_MEMORY_LIMIT_BYTES when that is set (0: no such cap).
JOB_MEMORY_FRACTION = env_float("DOJO_JOB_MEMORY_FRACTION", 0.8, minimum=0.01)
if JOB_MEMORY_FRACTION > 1:
    raise ImproperlyConfigured(
        f"DOJO_JOB_MEMORY_FRACTION must be at most 1, got {JOB_MEMORY_FRACTION}"
    )
JOB_MEMORY_LIMIT_BYTES = env_int("DOJO_JOB_MEMORY_LIMIT_BYTES", 0, minimum=0)
# Seconds a cancelled or preempted job has to stop at a step boundary before its process
# gets SIGTERM (and SIGKILL a second later): cancel takes effect within this plus ~1.5 s.
CANCEL_GRACE_S = env_float("DOJO_CANCEL_GRACE_S", 2.0, minimum=0.0)
# Seconds a rank of a data-parallel gang waits for the others (rendezvous, each collective)
# before it fails; a dead rank is noticed by the worker at once, this bounds a hung one.
RANK_TIMEOUT_S = env_float("DOJO_RANK_TIMEOUT_S", 120.0, minimum=1.0)
PROMETHEUS_MULTIPROC_DIR = env_str("PROMETHEUS_MULTIPROC_DIR")
if PROMETHEUS_MULTIPROC_DIR:
    # prometheus_client reads the variable itself; it only needs the folder to exist.
    Path(PROMETHEUS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)
# Limits on guessing and flooding (counted in Redis, shared by every process; 0 turns one off).
AUTH_FAILURE_LIMIT = env_int("DOJO_AUTH_FAILURE_LIMIT", 10, minimum=0)
AUTH_FAILURE_WINDOW_S = env_float("DOJO_AUTH_FAILURE_WINDOW_S", 300.0, minimum=1.0)
CREATE_JOB_RATE = env_int("DOJO_CREATE_JOB_RATE", 120, minimum=0)
DEMO_PASSWORD = env_str("DOJO_DEMO_PASSWORD", "demo-password" if DEBUG else "")
DEMO_ENV_FILE = env_path("DOJO_DEMO_ENV_FILE", Path(".dojo/demo.env"), base=REPO_DIR)
OPERATOR_ENV_FILE = env_path("DOJO_OPERATOR_ENV_FILE", Path(".dojo/operator.env"), base=REPO_DIR)
# An invitation's link works this long (the signed token and the row's expires_at agree).
INVITATION_EXPIRY_DAYS = env_int("DOJO_INVITATION_EXPIRY_DAYS", 7, minimum=1, maximum=90)


# Seconds a PostgreSQL connection is reused (0: one per request); see "Serving" in the README.
DB_CONN_MAX_AGE_S = env_int("DOJO_DB_CONN_MAX_AGE_S", 60, minimum=0)


def _database() -> dict[str, object]:
    url = env_url("DATABASE_URL", "sqlite:///var/dojo.sqlite3")
    try:
        db: dict[str, object] = dict(dj_database_url.parse(url))
    except ValueError as exc:
        raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {exc}") from None
    if db["ENGINE"] == "django.db.backends.sqlite3":
        name = Path(str(db["NAME"]))
        if not name.is_absolute() and str(name) != ":memory:":
            name = REPO_DIR / name
            name.parent.mkdir(parents=True, exist_ok=True)
        db["NAME"] = str(name)
        # WAL lets readers run beside the one writer; IMMEDIATE takes the write lock at
        # BEGIN so concurrent writers queue on the busy timeout instead of deadlocking.
        db["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
        # A file, not :memory:, so worker subprocesses in tests can open the test database.
        db["TEST"] = {
            "NAME": os.path.join(tempfile.gettempdir(), f"dojo-test-{os.getpid()}.sqlite3")
        }
    else:
        # PostgreSQL: each thread keeps its connection this long (a connect costs a TLS and
        # auth round trip), checked before reuse so a server restart costs no failed request.
        db["CONN_MAX_AGE"] = DB_CONN_MAX_AGE_S
        db["CONN_HEALTH_CHECKS"] = True
    return db


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def _present(*apps: str) -> list[str]:
    """Apps built by other teams join once their package exists, so `check` always passes."""
    return [app for app in apps if importlib.util.find_spec(app) is not None]


INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "dojocloud.common",
    "dojocloud.audit",
    "dojocloud.tenancy",
    "dojocloud.datasets",
    "dojocloud.jobs",
    "dojocloud.artifacts",
    "dojocloud.billing",
    "dojocloud.execution",
    "dojocloud.scheduling",
    "dojocloud.webhooks",
    *_present("dojocloud.api", "dojocloud.portal", "dojocloud.console"),
    # After the portal: its templates/account/ override allauth's (first app wins).
    "allauth",
    "allauth.account",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files with DEBUG off too (make up runs so): right after SecurityMiddleware.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The signed-in user's time zone for every page (portal and console).
    "dojocloud.portal.timezones.TimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a lock-out into the lock-out page
]

ROOT_URLCONF = "dojocloud.urls"
WSGI_APPLICATION = "dojocloud.wsgi.application"
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

# -- limits on guessing portal logins (django-axes): per user name and, separately, per address
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out login before checking it
    # Sign-in by user name or email; it also does what ModelBackend does (is_active, perms).
    "allauth.account.auth_backends.AuthenticationBackend",
]
AXES_FAILURE_LIMIT = env_int("DOJO_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(seconds=env_float("DOJO_LOGIN_COOLOFF_S", 900.0, minimum=1.0))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one reaching the limit locks
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "portal/locked_out.html"
# The lock follows the account whether its user name or its email was typed.
AXES_USERNAME_CALLABLE = "dojocloud.portal.accounts.axes_username"
# The address is REMOTE_ADDR (django-ipware is not installed, so X-Forwarded-For, which any
# client can forge, is never believed).

# -- browser hardening: CSP everywhere; with HTTPS (default: DEBUG off) Secure cookies and HSTS
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# HTTPS: the site is served over TLS (itself or behind a proxy). `make up` serves plain HTTP on
# loopback and turns it off; a Secure cookie would never come back over plain HTTP.
HTTPS = env_bool("DJANGO_HTTPS", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"
SECURE_SSL_REDIRECT = HTTPS
# Probes and Prometheus scrape the pods directly over plain HTTP: never redirected.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]
_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000, minimum=0)
SECURE_HSTS_SECONDS = _HSTS_SECONDS if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Only a TLS-terminating proxy that always sets X-Forwarded-Proto may turn this on.
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("DJANGO_BEHIND_TLS_PROXY", False) else None
)
# HSTS preload is a one-way commitment of the domain's owner (hstspreload.org), not a default.
SILENCED_SYSTEM_CHECKS = ["security.W021"]

LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/jobs/"

# -- accounts (django-allauth): sign-up with a verified email, sign-in by user name or email
ACCOUNT_ADAPTER = "dojocloud.portal.accounts.PortalAccountAdapter"
ACCOUNT_FORMS = {
    "login": "dojocloud.portal.accounts.PortalLoginForm",
    "reset_password_from_key": "dojocloud.portal.accounts.PortalResetPasswordKeyForm",
}
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False  # a link scanner's GET must not verify an address
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = True
ACCOUNT_SESSION_REMEMBER = True  # sessions last SESSION_COOKIE_AGE, as before allauth
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if HTTPS else "http"
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Dojo Cloud] "
# django-axes limits failed logins (per user and per address, across processes through the
# database); allauth's own per-process counters for them would only disagree with it.
ACCOUNT_RATE_LIMITS = {"login": None, "login_failed": None}

# -- email: printed on the console by default (`make up`), SMTP (or files) by settings
_EMAIL_BACKENDS = {
    "console": "django.core.mail.backends.console.EmailBackend",
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
}
EMAIL_BACKEND = _EMAIL_BACKENDS[env_choice("DOJO_EMAIL_BACKEND", "console", tuple(_EMAIL_BACKENDS))]
EMAIL_FILE_PATH = env_path("DOJO_EMAIL_FILE_DIR", Path("var/mail"), base=REPO_DIR)
EMAIL_HOST = env_str("DOJO_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("DOJO_EMAIL_PORT", 587, minimum=1, maximum=65535)
EMAIL_HOST_USER = env_str("DOJO_EMAIL_USER")
EMAIL_HOST_PASSWORD = env_str("DOJO_EMAIL_PASSWORD")
# starttls (submission, port 587), ssl (implicit TLS, port 465) or none (a local relay).
_EMAIL_SECURITY = env_choice("DOJO_EMAIL_SECURITY", "starttls", ("starttls", "ssl", "none"))
EMAIL_USE_TLS = _EMAIL_SECURITY == "starttls"
EMAIL_USE_SSL = _EMAIL_SECURITY == "ssl"
EMAIL_TIMEOUT = env_float("DOJO_EMAIL_TIMEOUT_S", 10.0, minimum=1.0)
DEFAULT_FROM_EMAIL = env_str("DOJO_EMAIL_FROM", "Dojo Cloud <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
# whitenoise serves the apps' static folders directly (no collectstatic step in make up).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

CELERY_BROKER_URL = REDIS_URL
CELERY_TASK_ACKS_LATE = True  # a worker that dies mid-segment leaves the message
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1  # segments are long; do not hoard them
CELERY_TASK_DEFAULT_QUEUE = "dojo"
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# `celery -A dojocloud beat` sends billing's finalization hourly to the "billing" queue,
# which a worker started with `-Q billing` takes (it is idempotent: a month closes once).
CELERY_BEAT_SCHEDULE = {
    "finalize-invoices": {
        "task": "dojocloud.billing.tasks.finalize_invoices",
        "schedule": 3600.0,
        "options": {"queue": "billing"},
    },
    # Deliveries whose retry message Redis lost (a flush, a restart) are sent again.
    "webhooks-send-due": {
        "task": "dojocloud.webhooks.tasks.send_due",
        "schedule": 60.0,
        "options": {"queue": "webhooks"},
    },
    # Retention (DOJO_ARTIFACT_RETENTION_DAYS, DOJO_LOG_RETENTION_DAYS), daily; the same work
    # as `manage.py prune_artifacts` and `manage.py prune_logs`.
    "prune-artifacts": {
        "task": "dojocloud.artifacts.tasks.prune_artifacts",
        "schedule": 86400.0,
        "options": {"queue": "housekeeping"},
    },
    "prune-logs": {
        "task": "dojocloud.jobs.tasks.prune_logs",
        "schedule": 86400.0,
        "options": {"queue": "housekeeping"},
    },
}

# Webhooks (dojocloud.webhooks): each delivery is tried up to WEBHOOK_MAX_ATTEMPTS times, the
# n-th retry WEBHOOK_BACKOFF_S x 2^(n-1) seconds after the failure before it (at most 6 h).
WEBHOOK_MAX_ATTEMPTS = env_int("DOJO_WEBHOOK_MAX_ATTEMPTS", 8, minimum=1, maximum=30)
WEBHOOK_BACKOFF_S = env_float("DOJO_WEBHOOK_BACKOFF_S", 30.0, minimum=0.01)
WEBHOOK_TIMEOUT_S = env_float("DOJO_WEBHOOK_TIMEOUT_S", 10.0, minimum=0.1)
# Endpoints must be https://; plain http:// only to a loopback host, and only with this on.
WEBHOOK_ALLOW_LOOPBACK_HTTP = env_bool("DOJO_WEBHOOK_ALLOW_LOOPBACK_HTTP", DEBUG)

LOG_LEVEL = env_choice("DOJO_LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {
        "dojocloud": {"handlers": ["console"], "level": LOG_LEVEL},
        "scheduler": {"handlers": ["console"], "level": LOG_LEVEL},
    },
}
