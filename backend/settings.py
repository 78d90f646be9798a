"""Settings for the whole service, read from the environment.

Embedded default (nothing set): SQLite, an in-memory channel layer, a local-memory cache, local
files under var/, background tasks run in process. Production: DATABASE_URL (PostgreSQL),
REDIS_URL (cache, channel layer), S3_BUCKET (object storage), TASKS_BACKEND=database with a
`manage.py db_worker` process.
"""

from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from common.env import env_bool, env_decimal, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", default=False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG and env_bool("PRODUCTION", default=False):
        raise ImproperlyConfigured("SECRET_KEY must be set in production")
    SECRET_KEY = "insecure-development-key-change-me"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "axes",
    "django_tasks",
    "django_tasks_db",
    # Lowest layer first: the domain's shared apps, then the apps built on them.
    "regions",
    "accounts",
    "register",
    "workdays",
    "notifications",
    "media",
    "visits",
    "grievances",
    "payments",
    "coverage",
    "supervision",
    "mobile_api",
    "web",
    "fieldapp",  # the helpers' phone app at /app/ (pages layer, beside web)
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files (CSS of the pages) straight from the app server, compressed and cached.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # A photo upload declaring more than PHOTO_MAX_BYTES gets its 413 before the body is parsed.
    "media.middleware.PhotoUploadLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "backend.urls"
ASGI_APPLICATION = "backend.asgi.application"
WSGI_APPLICATION = None

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
                "django.template.context_processors.i18n",
                "web.views.navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 0, minimum=0)
        )
    }
    if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_URL must be a postgres:// URL")
    # Recover by itself after a PostgreSQL restart: check a persistent connection before use.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # PostgreSQL's JIT spent 1.8-3.6 s compiling coverage's county aggregates (measured on 1M
    # households) that then ran in well under a second: off, as usual for OLTP workloads.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
    # An unreachable database answers 503 within seconds instead of holding the request.
    DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", 5)
    # Under ASGI every sync request may run on its own thread and hold its own connection:
    # with persistent connections 40 busy clients exhausted PostgreSQL's 100 (bench/load.py).
    # A pool (DB_POOL_MAX_SIZE > 0) bounds them; Django requires CONN_MAX_AGE 0 with it.
    DB_POOL_MAX_SIZE = env_int("DB_POOL_MAX_SIZE", 0, minimum=0)
    if DB_POOL_MAX_SIZE:
        DATABASES["default"]["CONN_MAX_AGE"] = 0
        DATABASES["default"]["OPTIONS"]["pool"] = {
            "min_size": 1,
            "max_size": DB_POOL_MAX_SIZE,
            "timeout": env_int("DB_POOL_TIMEOUT", 10, minimum=1),
        }
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "db.sqlite3",
            # WAL and a busy timeout let the server and the task worker share the file.
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
IS_POSTGRES = DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, channels (Redis when REDIS_URL is set) -----------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            # Redis down must not fail requests: misses, dropped writes, counters fail open.
            "BACKEND": "common.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "relief"),
            # A hung Redis answers "unavailable" within seconds instead of holding the request.
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [REDIS_URL],
                "prefix": env_str("CHANNELS_PREFIX", "relief"),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Files ------------------------------------------------------------------------------------
MEDIA_ROOT = VAR_DIR / "media"
# Media is never served by URL: every file goes through an endpoint that checks the caller's
# area. MEDIA_URL exists only because Django's storage API wants one.
MEDIA_URL = "/media-not-served/"
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
S3_BUCKET = env_str("S3_BUCKET")
if S3_BUCKET:
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": S3_BUCKET,
            "endpoint_url": env_str("S3_ENDPOINT_URL") or None,
            "region_name": env_str("S3_REGION") or None,
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
else:
    _default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT, "file_permissions_mode": 0o640},
    }
STORAGES = {
    "default": _default_storage,
    # Hashed, compressed names need `collectstatic`; only production runs it.
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env_bool("PRODUCTION", default=False)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not env_bool("PRODUCTION", default=False)

# Uploads: a whole request above this is refused before it is read.
PHOTO_MAX_BYTES = env_int("PHOTO_MAX_BYTES", 20 * 1024 * 1024, minimum=1024)
PHOTO_MAX_PIXELS = env_int("PHOTO_MAX_PIXELS", 50_000_000, minimum=1_000_000)
# Anonymous residents' grievance photos: uploads per client address per hour (cache-counted).
PHOTO_PUBLIC_UPLOADS_PER_HOUR = env_int("PHOTO_PUBLIC_UPLOADS_PER_HOUR", 30, minimum=1)
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 5 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = env_int("FILE_UPLOAD_MAX_MEMORY_SIZE", 2_621_440)

# --- Background tasks -------------------------------------------------------------------------
TASKS_BACKEND = env_str("TASKS_BACKEND", "immediate")
if TASKS_BACKEND == "immediate":
    TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
elif TASKS_BACKEND == "database":
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
else:
    raise ImproperlyConfigured("TASKS_BACKEND must be 'immediate' or 'database'")

# --- Auth -------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"
API_TOKEN_TTL = timedelta(hours=env_int("API_TOKEN_TTL_HOURS", 24 * 7, minimum=1))

# Field workers share carrier NAT addresses: lock the username-and-address pair, for a while.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLED = env_bool("AXES_ENABLED", default=True)
AXES_LOCKOUT_CALLABLE = "web.views.locked_out"

# --- Language and time ------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Security (production) --------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
if env_bool("PRODUCTION", default=False):
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

# --- Scheduled jobs and notifications --------------------------------------------------------
SMS_BACKEND = env_str("SMS_BACKEND", "notifications.sms.ConsoleSmsSender")
# Above this many households seed_demo adds no visits (the benchmarks' big builds add their own).
DEMO_VISITS_MAX_HOUSEHOLDS = env_int("DEMO_VISITS_MAX_HOUSEHOLDS", 10_000, minimum=0)

# --- API --------------------------------------------------------------------------------------
NINJA_PAGINATION_CLASS = "mobile_api.pagination.Pagination"  # page number bounded
NINJA_PAGINATION_PER_PAGE = 50
# (django-ninja reads this name, without PAGINATION_)
NINJA_MAX_PER_PAGE_SIZE = 200

# --- Grievances -------------------------------------------------------------------------------
GRIEVANCE_ACCEPT_WORKDAYS = env_int("GRIEVANCE_ACCEPT_WORKDAYS", 1, minimum=1)
GRIEVANCE_REPLY_WORKDAYS = env_int("GRIEVANCE_REPLY_WORKDAYS", 5, minimum=1)
GRIEVANCE_RESULT_WORKDAYS = env_int("GRIEVANCE_RESULT_WORKDAYS", 10, minimum=1)
GRIEVANCE_REOPEN_DAYS = env_int("GRIEVANCE_REOPEN_DAYS", 15, minimum=1)
# Public intake and tracking, per client address (cache counters: Redis in production).
GRIEVANCE_SUBMIT_LIMIT = env_int("GRIEVANCE_SUBMIT_LIMIT", 10, minimum=1)  # per hour
GRIEVANCE_TRACK_LIMIT = env_int("GRIEVANCE_TRACK_LIMIT", 30, minimum=1)  # per 10 minutes

# --- Subsidy payments (one card) -------------------------------------------------------------
# A scheduled item with no payment for a period this many days after it ended raises a warning
# (seed 001: money not moved 30 days after it was allotted).
PAYMENT_UNPAID_DAYS = env_int("PAYMENT_UNPAID_DAYS", 30, minimum=1)
# This many households of one village finding the same item and batch missing raise a warning.
PAYMENT_VILLAGE_MISSING_HOUSEHOLDS = env_int("PAYMENT_VILLAGE_MISSING_HOUSEHOLDS", 3, minimum=2)
# Passbook checks may be added to a visit for this many days after it.
PAYMENT_CHECK_DAYS = env_int("PAYMENT_CHECK_DAYS", 10, minimum=0)
# The office page's upload of a payment list; larger lists go through `manage.py load_payments`.
PAYMENT_UPLOAD_MAX_BYTES = env_int("PAYMENT_UPLOAD_MAX_BYTES", 50 * 1024 * 1024, minimum=1024)

# --- Visits -----------------------------------------------------------------------------------
# Fabrication flags (they never refuse a visit; they mark it for the supervisors).
VISIT_MAX_CAPTURE_GAP_HOURS = env_int("VISIT_MAX_CAPTURE_GAP_HOURS", 12, minimum=1)
VISIT_MAX_DISTANCE_M = env_int("VISIT_MAX_DISTANCE_M", 500, minimum=1)
VISIT_MAX_SPEED_KMH = env_int("VISIT_MAX_SPEED_KMH", 80, minimum=1)
# Position trust: the app sends the phone's own fix and clock with each photo (phones strip GPS
# from picked photos). A fix less accurate than this is flagged (metres, as the phone reports);
VISIT_MAX_DEVICE_ACCURACY_M = env_int("VISIT_MAX_DEVICE_ACCURACY_M", 100, minimum=1)
# EXIF GPS and the phone's fix farther apart than this are flagged (metres);
VISIT_MAX_POSITION_GAP_M = env_int("VISIT_MAX_POSITION_GAP_M", 200, minimum=1)
# and the phone's clock at capture further than this from the EXIF capture time (minutes).
VISIT_MAX_DEVICE_TIME_GAP_MINUTES = env_int("VISIT_MAX_DEVICE_TIME_GAP_MINUTES", 10, minimum=1)
# Near-duplicate photos (visits/neardup.py says why each number, with the measurements): bits
# apart for photos of places and people, compared with every visit photo of the scope...
PHASH_MAX_DISTANCE = env_int("PHASH_MAX_DISTANCE", 8, minimum=0)
# ... and for passbook and handbook pages, compared within one household only.
PHASH_MAX_DISTANCE_FORMS = env_int("PHASH_MAX_DISTANCE_FORMS", 2, minimum=0)
# "county": a photo is compared with its county's photos; "deployment": with all of them.
PHASH_SCOPE = env_str("PHASH_SCOPE", "county")
if PHASH_SCOPE not in ("county", "deployment"):
    raise ImproperlyConfigured("PHASH_SCOPE must be 'county' or 'deployment'")
# How far apart in time two visits' photos are compared for near-duplicates (days each way).
PHASH_LOOKBACK_DAYS = env_int("PHASH_LOOKBACK_DAYS", 366, minimum=1)
# The low-income line when the year has no `register.IncomeThreshold` row (yuan per person).
INCOME_THRESHOLD_DEFAULT = env_decimal("INCOME_THRESHOLD_DEFAULT", "7000")
# Coverage counts per village are cached under a data stamp that moves with any visit, flag,
# pairing or household; towns and up may be served this many seconds stale during a burst.
COVERAGE_CACHE = env_bool("COVERAGE_CACHE", default=True)
COVERAGE_CACHE_SECONDS = env_int("COVERAGE_CACHE_SECONDS", 600, minimum=1)
COVERAGE_CACHE_FRESH_SECONDS = env_int("COVERAGE_CACHE_FRESH_SECONDS", 15, minimum=0)
# Spot checks (art. 31): drawn on days 20-30 of a quarter's first month unless an admin lifts
# the rule; a visit's weight in the draw is 1 + k x its flag count.
SPOT_CHECK_ANY_DAY = env_bool("SPOT_CHECK_ANY_DAY", default=False)
SPOT_CHECK_FLAG_WEIGHT = env_decimal("SPOT_CHECK_FLAG_WEIGHT", "4")
SPOT_CHECK_MAX_SAMPLE = env_int("SPOT_CHECK_MAX_SAMPLE", 500, minimum=1)
# Bench only: a bare endpoint that just writes an upload to disk, to compare against.
BENCH_BARE_UPLOAD = env_bool("BENCH_BARE_UPLOAD", default=False)
