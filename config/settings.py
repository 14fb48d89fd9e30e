"""Settings for the sanctions-violation evidence tracker.

Everything a deployment changes is read from environment variables (the README lists
them). Without any, a checkout runs on SQLite and an embedded Celery broker under
``var/``. With ``DEBUG`` off the values are the safe ones and ``SECRET_KEY`` is required.
"""

import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def made(folder):
    """A folder the embedded defaults keep files in, created when missing, so a
    checkout runs with any VAR_DIR (the mail and evidence code make their own)."""
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def envbool(name, default):
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}")


def envint(name, default):
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from None


WEEKDAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]


def envweekday(name, default):
    """A day of the week by name ("monday", "mon") as cron numbers it (sunday = 0)."""
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return WEEKDAYS.index(default)
    for number, day in enumerate(WEEKDAYS):
        if len(value) >= 3 and day.startswith(value):
            return number
    raise ImproperlyConfigured(f"{name} must be a day of the week such as monday, not {value!r}")


def envhour(name, default):
    hour = envint(name, default)
    if not 0 <= hour <= 23:
        raise ImproperlyConfigured(f"{name} must be an hour from 0 to 23, not {hour}")
    return hour


def envdays(name, default):
    days = envint(name, default)
    if days < 1:
        raise ImproperlyConfigured(f"{name} must be a number of days, 1 or more, not {days}")
    return days


def envfraction(name, default):
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 <= number <= 1:
        raise ImproperlyConfigured(f"{name} must be a number from 0 to 1, not {value!r}")
    return number


def envlist(name, default):
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = envbool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-never-use-in-production"

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = os.environ.get("SITE_URL", "http://localhost:8000").rstrip("/")

INSTALLED_APPS = [
    # django.contrib.admin, with the site of config/admin_site.py.
    "config.apps.TeamAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Django's own form and widget templates, for FORM_RENDERER below.
    "django.forms",
    # Full-text search fields and lookups; harmless on SQLite.
    "django.contrib.postgres",
    "django_countries",
    "django_filters",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "simple_history",
    "rest_framework",
    "drf_spectacular",
    # Swagger UI's files, served from here: the API's docs load nothing from elsewhere.
    "drf_spectacular_sidecar",
    "accounts",
    "mailer",
    "tracker",
    "evidence",
    "digests",
    "webhooks",
    "exchange",
    "dossiers",
    "api",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files, answered before the rest of the stack but with the security headers.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "accounts.middleware.IdleSessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(): whether this session was signed in with a code.
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.EnrolmentRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # The admin's lists pass what the address holds to the database unchecked.
    "common.middleware.AdminAddressGuard",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

# Forms and widgets render with the templates of TEMPLATES, so a widget of this project
# keeps its template in templates/ with the others (common/widgets/).
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                # csp_nonce, for the rare page that needs an inline block (SECURE_CSP).
                "django.template.context_processors.csp",
            ],
        },
    },
]

# Database: PostgreSQL in production and CI, SQLite under var/ by default.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{made(VAR_DIR) / 'tracker.sqlite3'}",
        # Persistent connections: a page or a task does not pay for connecting first.
        conn_max_age=envint("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # JIT compilation pays off for long analytical queries; for a page's short ones it
    # costs a few hundred milliseconds of compiling (measured by `make bench`).
    DATABASES["default"]["OPTIONS"] = {"options": "-c jit=off"}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock when a transaction starts, so two workflow
    # transitions on SQLite queue up instead of failing half-way with "database is
    # locked" (PostgreSQL gets the same guarantee from SELECT ... FOR UPDATE).
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
    # Covering indexes' extra columns speed up PostgreSQL; SQLite simply goes without.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Argon2 for new and re-hashed passwords; the others still verify older hashes.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

# django-axes checks every sign-in (the site's and the admin's) before Django does.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "tracker.auth.RoleBackend",
]
# After LOGIN_FAILURE_LIMIT wrong passwords for one user name from one address, that
# pair is refused, even with the right password, for LOGIN_LOCKOUT_MINUTES. Locking the
# pair rather than the address keeps one mistyping colleague behind the office's
# shared address from locking out the whole team.
AXES_FAILURE_LIMIT = envint("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = envint("LOGIN_LOCKOUT_MINUTES", 60) / 60
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

# Two-factor sign-in (accounts/): an authenticator app plus recovery codes. With
# REQUIRE_2FA on (the default when DEBUG is off) reviewers and administrators must enrol
# before they can do anything else; anyone else may enrol, and once enrolled every
# sign-in asks for the code.
REQUIRE_2FA = envbool("REQUIRE_2FA", not DEBUG)
OTP_TOTP_ISSUER = "Evidence tracker"
# Wrong codes count towards django-axes's lockout with wrong passwords; django-otp's own
# growing delays would refuse a right code typed soon after a wrong one, so they are off.
OTP_TOTP_THROTTLE_FACTOR = 0
OTP_STATIC_THROTTLE_FACTOR = 0
# The admin lists who has enrolled (an administrator deletes a lost phone's device
# there) but shows nobody's secret or recovery codes.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "api.passwords.PasswordChangeRevokesApiTokens"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = envbool("USE_TZ", True)

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
# Vendored CSS: the pages load nothing from other sites.
STATICFILES_DIRS = [BASE_DIR / "static"]
# WhiteNoise serves STATIC_ROOT from the application itself. Without DEBUG, collectstatic
# writes each file under a name with its hash and compressed copies, which are then
# cached by browsers for a year; with DEBUG (the demo, the tests) the files are read
# from the apps and static/ as they are, without collectstatic.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
# Fixed by the DEBUG variable, not by settings.DEBUG, which the test runner turns off:
# the tests, like the demo, read the files from the apps without collectstatic.
WHITENOISE_USE_FINDERS = WHITENOISE_AUTOREFRESH = DEBUG

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "tracker:dashboard"
LOGOUT_REDIRECT_URL = "login"

# Content Security Policy: scripts, styles, images and fonts only from this site, no
# inline scripts or styles, no framing, forms post only here. The admin works under it
# (it ships no inline script). One page has a style block: the digest preview shows the
# email's own HTML, whose CSS travels inside it, marked with the request's nonce. A
# page that asks for no nonce gets none in its header, so every other page allows
# styles from this site alone.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
X_FRAME_OPTIONS = "DENY"
# A session unused for SESSION_IDLE_MINUTES is signed out on its next request; each
# request moves the expiry along (accounts.middleware.IdleSessionMiddleware).
SESSION_COOKIE_AGE = envint("SESSION_IDLE_MINUTES", 8 * 60) * 60
# Neither cookie is read by JavaScript; Lax keeps them off cross-site POSTs.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"

# The JSON API (api/, /api/v1/): Django REST framework, its schema by drf-spectacular.
# Personal API tokens or the browser's session (with its CSRF check); JSON in and out,
# errors as problem details; API_RATE_LIMIT requests per token (per user for a session,
# per address signed out), counted in the cache.
API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "600/minute")
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "api.permissions.TokenScopeAllows",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.PerTokenRateThrottle"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "api.problems.exception_handler",
    # No OPTIONS descriptions: DRF answers them before a view looks its object up, so
    # they would say 200 for cases the caller may not see; the schema describes it all.
    "DEFAULT_METADATA_CLASS": None,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # Dates and times as ISO 8601; decimals (coordinates) as JSON numbers.
    "COERCE_DECIMAL_TO_STRING": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Sanctions-violation evidence tracker API",
    "DESCRIPTION": (
        "Cases of reported violations of the UN arms embargo on the DPRK, their evidence "
        "and review, under the same rules as the web pages. Authenticate with a personal "
        "API token (Authorization: Bearer trk_…, made under Account → API tokens) or the "
        "browser's session. Errors are problem details (RFC 9457)."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "Country": "django_countries.countries",
        "State": "tracker.models.State",
        "SourceKind": "evidence.models.SourceKind",
        "EvidenceKind": "evidence.models.EvidenceKind",
        "ImportStatus": "exchange.models.Status",
        "ImportRowAction": "exchange.models.Action",
    },
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# Evidence files: stored outside any static or media URL, served only through the
# permission-checked download view.
EVIDENCE_ROOT = Path(os.environ.get("EVIDENCE_ROOT", VAR_DIR / "evidence"))
EVIDENCE_MAX_UPLOAD_BYTES = envint("EVIDENCE_MAX_UPLOAD_MB", 100) * 1024 * 1024
# A file sent with an evidence form that had another error is kept this long for its
# uploader's next try (evidence.staging), then removed by the hourly clean-up.
EVIDENCE_STAGING_HOURS = envint("EVIDENCE_STAGING_HOURS", 24)
# Only the evidence upload views spool files into EVIDENCE_ROOT (they set their own
# upload handlers: evidence.files.accepts_evidence_files); every other request keeps
# Django's default handlers, so a file posted anywhere else never reaches the store.

# Lists (the case list, its search, the admin's changelist) count their matches exactly
# up to this many and beyond it say "more than": counting every one of 80,000 matches
# cost more than showing the page (common.paging.capped_count).
EXACT_COUNT_LIMIT = envint("EXACT_COUNT_LIMIT", 10_000)
# A search of the cases lists its matches best first when there are at most this many;
# more are listed newest first (or as sorted), with a note saying so: ranking reads
# every match, which grows with the archive (tracker.models.CaseQuerySet.too_many_to_rank).
SEARCH_RANK_LIMIT = envint("SEARCH_RANK_LIMIT", 1_000)

# A dossier (dossiers/) is one document laid out in memory: a list dossier of more
# cases than this is refused, with a request to narrow the filters.
DOSSIER_MAX_CASES = envint("DOSSIER_MAX_CASES", 200)

# A file posted to any page: kept in memory up to FILE_UPLOAD_MAX_MEMORY_SIZE, beyond
# it spooled to a temporary file whose name does not take the sent one's extension
# (common/uploads.py). Evidence and imports set their own handlers, built alike.
FILE_UPLOAD_HANDLERS = [
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "common.uploads.SpooledUploadHandler",
]

# Imports of cases from CSV and XLSX (exchange.imports). An upload is kept under
# IMPORT_ROOT from its preview until it is applied; web and worker must share it.
IMPORT_ROOT = Path(os.environ.get("IMPORT_ROOT", VAR_DIR / "imports"))
IMPORT_MAX_UPLOAD_BYTES = envint("IMPORT_MAX_UPLOAD_MB", 50) * 1024 * 1024
# What an XLSX workbook's parts may add up to once unpacked, from its zip directory:
# a few hundred kilobytes can otherwise unpack to gigabytes.
IMPORT_MAX_UNPACKED_BYTES = envint("IMPORT_MAX_UNPACKED_MB", 500) * 1024 * 1024
IMPORT_MAX_ROWS = envint("IMPORT_MAX_ROWS", 100_000)
# An import is one transaction over every row: it gets longer than other tasks.
IMPORT_TIME_LIMIT = envint("IMPORT_TIME_LIMIT_MINUTES", 60) * 60

# Review workflow: approval needs this many independent supporting sources, or a
# written justification.
CORROBORATION_MIN = envint("CORROBORATION_MIN", 2)
# A case goes to review with at least this many evidence items: a reviewer has
# nothing to check in an empty case.
SUBMIT_MIN_EVIDENCE = envint("SUBMIT_MIN_EVIDENCE", 1)
# Possible duplicates (tracker.duplicates): a case is one when its incident falls within
# this many days of the new one's, it shares the place, country or a weapon system, and
# its title and summary are at least this similar (trigram similarity, 0 to 1).
DUPLICATE_WINDOW_DAYS = envint("DUPLICATE_WINDOW_DAYS", 7)
DUPLICATE_MIN_SCORE = envfraction("DUPLICATE_MIN_SCORE", 0.3)

# Email. With EMAIL_HOST set, mail goes out over SMTP; without it, every message is
# written as a file of its own under EMAIL_FILE_PATH (var/mail/ by default), named
# *.eml so that a mail client opens it; that is where the demo's mail lands.
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "tracker@localhost")
SERVER_EMAIL = os.environ.get("SERVER_EMAIL", DEFAULT_FROM_EMAIL)
if os.environ.get("EMAIL_HOST"):
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": os.environ["EMAIL_HOST"],
                "port": envint("EMAIL_PORT", 587),
                "username": os.environ.get("EMAIL_HOST_USER", ""),
                "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
                "use_tls": envbool("EMAIL_USE_TLS", True),
                "use_ssl": envbool("EMAIL_USE_SSL", False),
                "timeout": envint("EMAIL_TIMEOUT", 30),
            },
        }
    }
else:
    MAILERS = {
        "default": {
            "BACKEND": "mailer.backends.EmlFileBackend",
            "OPTIONS": {"file_path": os.environ.get("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))},
        }
    }
ADMINS = envlist("ADMINS", [])

# Review deadlines: a case waiting longer than this in submitted, in review or changes
# requested reminds whoever must act; after twice as long it escalates to the
# administrators. The dashboard lists such cases as stale.
REVIEW_SLA_DAYS = envint("REVIEW_SLA_DAYS", 3)

# Mail tasks retry transient failures after MAIL_RETRY_BACKOFF seconds, doubling up to
# MAIL_RETRY_BACKOFF_MAX, at most MAIL_MAX_RETRIES times (about five hours by default,
# long enough to outlast greylisting and a mail server's restart).
MAIL_RETRY_BACKOFF = envint("MAIL_RETRY_BACKOFF", 60)
MAIL_RETRY_BACKOFF_MAX = envint("MAIL_RETRY_BACKOFF_MAX", 60 * 60)
MAIL_MAX_RETRIES = envint("MAIL_MAX_RETRIES", 10)
# Every few minutes a sweep enqueues again the deliveries a failed or lost task left
# unsent, once their last attempt is MAIL_SWEEP_AFTER_MINUTES old, for at most
# MAIL_SWEEP_WITHIN_HOURS (then the admin's list of deliveries by status shows them).
MAIL_SWEEP_AFTER_MINUTES = envint("MAIL_SWEEP_AFTER_MINUTES", 5)
MAIL_SWEEP_WITHIN_HOURS = envint("MAIL_SWEEP_WITHIN_HOURS", 24)

# Webhooks (webhooks/): each delivery is retried after WEBHOOK_RETRY_BACKOFF seconds,
# doubling up to WEBHOOK_RETRY_BACKOFF_MAX, at most WEBHOOK_MAX_RETRIES times (about
# five hours by default), then failed; an endpoint whose last WEBHOOK_MAX_FAILURES
# deliveries all failed is disabled and the administrators are told. An endpoint has
# WEBHOOK_TIMEOUT_SECONDS to connect and as long between bytes of its answer.
WEBHOOK_RETRY_BACKOFF = envint("WEBHOOK_RETRY_BACKOFF", 60)
WEBHOOK_RETRY_BACKOFF_MAX = envint("WEBHOOK_RETRY_BACKOFF_MAX", 60 * 60)
WEBHOOK_MAX_RETRIES = envint("WEBHOOK_MAX_RETRIES", 10)
WEBHOOK_MAX_FAILURES = envint("WEBHOOK_MAX_FAILURES", 10)
WEBHOOK_TIMEOUT_SECONDS = envint("WEBHOOK_TIMEOUT_SECONDS", 10)
# Endpoints on private, loopback, link-local … addresses are refused (server-side
# request forgery), and only https:// URLs are accepted, unless these say otherwise:
# the demo and the tests (DEBUG) deliver to receivers on 127.0.0.1 over plain HTTP.
WEBHOOK_ALLOW_PRIVATE = envbool("WEBHOOK_ALLOW_PRIVATE", DEBUG)
WEBHOOK_REQUIRE_HTTPS = envbool("WEBHOOK_REQUIRE_HTTPS", not DEBUG)

# Celery. REDIS_URL selects Redis; without it the broker is kombu's filesystem
# transport under var/celery, which needs no server (fine for one machine, not for
# production).
# Also how long an email's claimed attempt is trusted to be under way (mailer.mail):
# older than this, its worker died, and another may send it.
CELERY_TASK_TIME_LIMIT = envint("TASK_TIME_LIMIT_SECONDS", 5 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT * 4 // 5
# The integrity check hashes the store in chunks of consecutive stored files, at most
# this many MB or files each; one task checks one chunk within the time limit (a
# chunk of 256 MB takes seconds; one file larger than a chunk is a chunk of its own).
EVIDENCE_CHECK_CHUNK_MB = envint("EVIDENCE_CHECK_CHUNK_MB", 256)
EVIDENCE_CHECK_CHUNK_FILES = envint("EVIDENCE_CHECK_CHUNK_FILES", 1000)
EVIDENCE_CHECK_CHUNK_TIME_LIMIT = envint("EVIDENCE_CHECK_CHUNK_TIME_LIMIT_MINUTES", 30) * 60
# An unfinished run younger than this is resumed (its checked chunks are not hashed
# again); an older one is abandoned and the next check starts afresh.
EVIDENCE_CHECK_RESUME_HOURS = envint("EVIDENCE_CHECK_RESUME_HOURS", 6 * 24)
REDIS_URL = os.environ.get("REDIS_URL", "")

# Sessions are kept in the database and read through the cache, which saves every
# page a query. The cache must be shared by all processes (a signed-out session must
# be gone for every web process; a case a worker imports must move the dashboards'
# counts on for the web server): Redis at CACHE_URL, by default REDIS_URL; without
# Redis, files under VAR_DIR, which the demo's web server and worker share on one
# machine.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
CACHE_URL = os.environ.get("CACHE_URL", REDIS_URL)
if CACHE_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Redis hands an unacknowledged task to another worker after this long. A task
        # waiting for its retry countdown is unacknowledged, so the timeout must outlast
        # the longest countdown and the longest run, or the task would run twice.
        "visibility_timeout": 2
        * max(
            MAIL_RETRY_BACKOFF_MAX,
            WEBHOOK_RETRY_BACKOFF_MAX,
            CELERY_TASK_TIME_LIMIT,
            EVIDENCE_CHECK_CHUNK_TIME_LIMIT,
            IMPORT_TIME_LIMIT,
        ),
    }
else:
    _broker_dir = made(VAR_DIR / "celery" / "broker")
    # The transport ignores the host; naming one spares every process kombu's warning
    # that none was given.
    CELERY_BROKER_URL = "filesystem://localhost//"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(made(VAR_DIR / "celery" / "processed")),
        "store_processed": False,
        # Exchange bindings; kombu's default is a "control" folder in the current one.
        "control_folder": str(made(VAR_DIR / "celery" / "control")),
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_IGNORE_RESULT = True
# Acknowledge a task only when it has finished, and re-queue it when the worker process
# running it dies, so a crash never loses a reminder or a digest; one task at a time
# per process, so a slow one does not hold others hostage.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(made(VAR_DIR / "celery") / "beat-schedule")
REMINDER_HOUR = envhour("REMINDER_HOUR", 8)
DIGEST_DAY = envweekday("DIGEST_DAY", "monday")
DIGEST_HOUR = envhour("DIGEST_HOUR", 7)
# A case link in a digest opens the approved case without a sign-in for this many days
# at most (and only while the subscription is active and the case approved).
DIGEST_LINK_DAYS = envdays("DIGEST_LINK_DAYS", 90)
EVIDENCE_CHECK_DAY = envweekday("EVIDENCE_CHECK_DAY", "sunday")
EVIDENCE_CHECK_HOUR = envhour("EVIDENCE_CHECK_HOUR", 3)
CELERY_BEAT_SCHEDULE = {
    "send-reminders": {
        "task": "tracker.tasks.send_reminders",
        "schedule": crontab(minute=0, hour=REMINDER_HOUR),
    },
    "send-digests": {
        "task": "digests.tasks.send_digests",
        "schedule": crontab(minute=0, hour=DIGEST_HOUR, day_of_week=DIGEST_DAY),
    },
    "sweep-mail": {
        "task": "mailer.tasks.sweep_deliveries",
        "schedule": crontab(minute="*/5"),
    },
    # Removes the files kept for a retry that nobody came back for.
    "discard-expired-uploads": {
        "task": "evidence.tasks.discard_expired_uploads",
        "schedule": crontab(minute=40),
    },
    # Re-checks every stored evidence file against its SHA-256 digest.
    "verify-evidence": {
        "task": "evidence.tasks.verify_evidence",
        "schedule": crontab(minute=0, hour=EVIDENCE_CHECK_HOUR, day_of_week=EVIDENCE_CHECK_DAY),
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # WeasyPrint logs each step of every dossier it lays out at INFO; its warnings (a
    # resource the dossier's fetcher refused, CSS it cannot read) still show.
    "loggers": {"weasyprint.progress": {"level": "WARNING"}},
}

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", False)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
