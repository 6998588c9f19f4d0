"""Settings from the environment: where state lives, how to reach the receivers of
automated touches, the team's routing, where the playbooks are, and the keys that
encrypt what journeys send to Temporal."""

from __future__ import annotations

import base64
import binascii
import contextlib
import errno
import hashlib
import ipaddress
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from journey.domain.errors import InputError
from journey.domain.team import (
    DEFAULT_MANAGER,
    DEFAULT_RED_ACCOUNTS_CHANNEL,
    DEFAULT_TEAM,
    DEFAULT_VALUE_ENGINEERING,
    Team,
)
from playbooks import DEFAULT_DIR

HEALTH_CONFIG_FILE = "health.toml"


# What journey creates is the user's alone, whatever the umask: the store, the dev
# server's state and the reports hold customer names, contracts and notes.
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def setting(name: str) -> str | None:
    """An environment setting; set but empty (or only spaces) counts as unset."""
    value = os.environ.get(name, "").strip()
    return value or None


def user_name() -> str:
    """Who runs the command, for the records that say who did something (a review):
    JOURNEY_USER, else the login name."""
    import getpass

    try:
        return setting("JOURNEY_USER") or getpass.getuser()
    except (KeyError, OSError):  # no login name in this environment
        return "unknown"


def journey_home() -> Path:
    """JOURNEY_HOME holds the SQLite database, the dev server's state and reports."""
    return Path(setting("JOURNEY_HOME") or Path.home() / ".journey").expanduser()


def database_url() -> str:
    return setting("JOURNEY_DATABASE_URL") or f"sqlite:///{journey_home() / 'journey.db'}"


class DatabaseUnreachable(ConnectionError):
    """The database at JOURNEY_DATABASE_URL did not accept a connection; the message names
    it (password hidden) and what to check. Raised by the store; here so that the command
    line can name it without loading the store."""


class NotWritable(InputError):
    """A place journey must write to cannot take the file (the message names it and why)."""

    def __init__(self, path: Path, err: OSError) -> None:
        super().__init__(f"cannot write to {path}: {err.strerror or err}")


def private_dir(path: Path) -> Path:
    """`path` as a directory, it and any missing parent created 0700; directories that
    already exist (the current one, a folder the user gave) keep their mode."""
    missing = []
    current = path
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    try:
        for directory in reversed(missing):
            try:
                os.mkdir(directory, PRIVATE_DIR_MODE)
            except FileExistsError:  # made meanwhile by another process: its mode is its own
                continue
            os.chmod(directory, PRIVATE_DIR_MODE)  # mkdir's mode passes through the umask
        if not path.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "not a directory")
    except OSError as err:
        raise NotWritable(path, err) from None
    return path


def create_private_file(path: Path) -> bool:
    """Create `path` empty and 0600 if it does not exist (its directory made with
    `private_dir`); True if it was created now. An existing file keeps its mode."""
    private_dir(path.parent)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    except FileExistsError:
        return False
    except OSError as err:
        raise NotWritable(path, err) from None
    try:
        os.fchmod(descriptor, PRIVATE_FILE_MODE)
    finally:
        os.close(descriptor)
    return True


def write_private_file(path: Path, data: bytes, *, before_rename: Callable[[], None] | None = None) -> Path:
    """Write `path` whole or not at all (a temporary file renamed over it), 0600; its
    directory is made with `private_dir`. `before_rename` is called once the data is
    written and before it becomes `path` (an exception from it leaves `path` as it was)."""
    private_dir(path.parent)
    temporary = None
    try:
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(descriptor, "wb") as out:
            os.fchmod(out.fileno(), PRIVATE_FILE_MODE)
            out.write(data)
        if before_rename is not None:
            before_rename()
        os.replace(temporary, path)
    except OSError as err:
        raise NotWritable(path, err) from None
    finally:
        if temporary is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
    return path


PLAYBOOKS_DIR_SETTING = "JOURNEY_PLAYBOOKS_DIR"


def playbooks_dir() -> Path:
    """The folder of playbooks (`<model>.toml`) and the health-score file: the team's own
    (JOURNEY_PLAYBOOKS_DIR, kept in its repository and reviewed like code), else the
    bundled `playbooks/`. A team folder holds every model's file and `health.toml`
    (copy the bundled ones to start); what is missing is named."""
    configured = setting(PLAYBOOKS_DIR_SETTING)
    if configured is None:
        return DEFAULT_DIR
    path = Path(configured).expanduser()
    if not path.is_dir():
        raise InputError(f"{PLAYBOOKS_DIR_SETTING}: {path} is not a directory")
    return path


def health_config_path() -> Path:
    return playbooks_dir() / HEALTH_CONFIG_FILE


def reports_dir() -> Path:
    """Where a worker writes the reports it attaches to tasks (the value review's)."""
    return journey_home() / "reports"


def team_from_env() -> Team:
    """The team's routing: JOURNEY_TA_MANAGER, JOURNEY_VALUE_ENGINEERING, JOURNEY_RED_CHANNEL."""
    return Team(
        manager=os.environ.get("JOURNEY_TA_MANAGER") or DEFAULT_MANAGER,
        value_engineering=os.environ.get("JOURNEY_VALUE_ENGINEERING") or DEFAULT_VALUE_ENGINEERING,
        red_accounts_channel=os.environ.get("JOURNEY_RED_CHANNEL") or DEFAULT_RED_ACCOUNTS_CHANNEL,
    )


@dataclass(frozen=True)
class DeliverySettings:
    """Where automated touches go, and the team's routing (the reminder sweep escalates to
    its manager). Secrets come only from the environment and are never logged."""

    slack_webhook_url: str | None
    smtp_host: str | None
    smtp_port: int
    smtp_user: str | None
    smtp_password: str | None
    smtp_starttls: bool
    email_from: str
    email_domain: str
    team: Team
    # Attempts a delivery gets when the line fails or the receiver says "later" (a rejection
    # is never retried); None: as many as the sending workflow's retry policy allows
    # (workflows.effects.DELIVERY_RETRY, about seven hours of backoff).
    delivery_attempts: int | None = None
    # JOURNEY_OUTBOX_DIR: every automated touch is written there as a file (email `.eml`,
    # Slack `.json`) instead of going to Slack or SMTP.
    outbox_dir: Path | None = None

    def channels(self) -> list[str]:
        """The channels automated touches can go through, in words (empty: none at all)."""
        if self.outbox_dir is not None:
            return [f"files in {self.outbox_dir}"]
        return [name for name, ready in (("Slack", self.slack_webhook_url), ("email", self.smtp_host)) if ready]

    def missing_channels(self) -> list[str]:
        """The message channels whose touches can go nowhere (each with what to set)."""
        if self.outbox_dir is not None:
            return []
        return [
            f"{name} (set {variable})"
            for name, variable, ready in (
                ("Slack", "JOURNEY_SLACK_WEBHOOK_URL", self.slack_webhook_url),
                ("email", "JOURNEY_SMTP_HOST", self.smtp_host),
            )
            if not ready
        ]

    @classmethod
    def unconfigured(cls) -> DeliverySettings:
        """No Slack and no SMTP: automated touches are recorded, never sent anywhere."""
        return cls(
            slack_webhook_url=None, smtp_host=None, smtp_port=25, smtp_user=None, smtp_password=None,
            smtp_starttls=False, email_from="journey@localhost", email_domain="localhost", team=DEFAULT_TEAM,
        )

    @classmethod
    def from_env(cls) -> DeliverySettings:
        return cls(
            slack_webhook_url=os.environ.get("JOURNEY_SLACK_WEBHOOK_URL") or None,
            smtp_host=os.environ.get("JOURNEY_SMTP_HOST") or None,
            smtp_port=_port_from_env("JOURNEY_SMTP_PORT", 25),
            smtp_user=os.environ.get("JOURNEY_SMTP_USER") or None,
            smtp_password=os.environ.get("JOURNEY_SMTP_PASSWORD") or None,
            smtp_starttls=os.environ.get("JOURNEY_SMTP_STARTTLS", "") in ("1", "true", "yes"),
            email_from=setting("JOURNEY_EMAIL_FROM") or "journey@localhost",
            email_domain=setting("JOURNEY_EMAIL_DOMAIN") or "localhost",
            team=team_from_env(),
            delivery_attempts=_attempts_from_env(),
            outbox_dir=outbox_dir_from_env(),
        )


def outbox_dir_from_env() -> Path | None:
    """JOURNEY_OUTBOX_DIR, `~` expanded; unset or empty: None."""
    text = setting("JOURNEY_OUTBOX_DIR")
    return Path(text).expanduser() if text else None


MAX_DELIVERY_ATTEMPTS = 1_000


def _attempts_from_env() -> int | None:
    """JOURNEY_DELIVERY_ATTEMPTS: a whole number from 1 to MAX_DELIVERY_ATTEMPTS, or unset."""
    text = os.environ.get("JOURNEY_DELIVERY_ATTEMPTS", "").strip()
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= MAX_DELIVERY_ATTEMPTS:
        raise InputError(f"JOURNEY_DELIVERY_ATTEMPTS: {text[:40]!r} is not a whole number from 1 to {MAX_DELIVERY_ATTEMPTS}")
    return int(text)


def _port_from_env(name: str, default: int) -> int:
    """A TCP port from the environment (1 to 65535); unset or empty: `default`."""
    text = setting(name)
    if text is None:
        return default
    if not text.isdigit() or not 1 <= int(text) <= 65_535:
        raise InputError(f"{name}: {text[:40]!r} is not a port number (1 to 65535)")
    return int(text)


DEPLOYMENT_SETTING = "JOURNEY_DEPLOYMENT"
BUILD_ID_SETTING = "JOURNEY_BUILD_ID"
# The server builds a workflow id from each part of a version and caps ids at 1,000 bytes by
# default (`limit.maxIDLength`): each part gets (1000 - 39) / 2 bytes.
MAX_VERSION_PART_BYTES = 480


@dataclass(frozen=True)
class WorkerVersion:
    """The Worker Deployment version a worker runs as: a deployment name and a build id."""

    deployment: str
    build_id: str

    def __str__(self) -> str:
        # Temporal's own spelling (the Web UI, `temporal worker deployment describe`).
        return f"{self.deployment}.{self.build_id}"


def package_version() -> str:
    """The installed `journey` package's version (the source's when it is not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("journey")
    except PackageNotFoundError:
        from journey import __version__

        return __version__


def worker_version(deployment: str | None = None, build_id: str | None = None) -> WorkerVersion:
    """The version a worker runs as: `--deployment` / `--build-id` when given, else
    JOURNEY_DEPLOYMENT / JOURNEY_BUILD_ID, else the deployment `journey` and the package's
    version. A value the server would refuse, or one no shell command could carry (spaces,
    control characters), is an `InputError` naming the option or setting."""
    from journey.domain.names import DEPLOYMENT

    name = _version_part("--deployment", deployment, DEPLOYMENT_SETTING, DEPLOYMENT)
    build = _version_part("--build-id", build_id, BUILD_ID_SETTING, None)
    for given, problems in ((name, _deployment_problems(name.value)), (build, _common_problems(build.value))):
        if problems:
            raise InputError(f"{given.source}: {given.value[:80]!r} {problems[0]}")
    return WorkerVersion(deployment=name.value, build_id=build.value)


@dataclass(frozen=True)
class _Given:
    value: str
    source: str


def _version_part(option: str, given: str | None, variable: str, default: str | None) -> _Given:
    if given is not None:
        return _Given(given, option)
    configured = setting(variable)
    if configured is not None:
        return _Given(configured, variable)
    return _Given(default if default is not None else package_version(), variable)


def _common_problems(value: str) -> list[str]:
    if not value:
        return ["is empty"]
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        return ["has spaces or control characters"]
    if len(value.encode()) > MAX_VERSION_PART_BYTES:
        return [f"is longer than {MAX_VERSION_PART_BYTES} bytes"]
    if value.startswith("__"):
        return ["starts with '__' (Temporal keeps those names for itself)"]
    return []


def _deployment_problems(value: str) -> list[str]:
    problems = _common_problems(value)
    for separator in ".:":
        if separator in value:
            problems.append(f"contains {separator!r} (Temporal joins a deployment name and a build id with it)")
    return problems
METRICS_PORT_SETTING = "JOURNEY_METRICS_PORT"
METRICS_IP_SETTING = "JOURNEY_METRICS_IP"
DEFAULT_METRICS_IP = "127.0.0.1"


def metrics_port_from_env() -> int | None:
    """JOURNEY_METRICS_PORT: the port a worker serves `/metrics` on; unset: no metrics."""
    if setting(METRICS_PORT_SETTING) is None:
        return None
    return _port_from_env(METRICS_PORT_SETTING, 0)


def metrics_ip_from_env() -> str:
    """JOURNEY_METRICS_IP: the address `/metrics` is served on (default 127.0.0.1, this
    machine only); `0.0.0.0` (or `::`) lets a Prometheus elsewhere scrape it."""
    return ip_address(setting(METRICS_IP_SETTING) or DEFAULT_METRICS_IP, METRICS_IP_SETTING)


def ip_address(text: str, name: str) -> str:
    """`text` as an IPv4 or IPv6 address (normalized), or an InputError naming `name`."""
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        raise InputError(f"{name}: {text[:60]!r} is not an IP address (e.g. 127.0.0.1 or 0.0.0.0)") from None
ENCRYPTION_KEY_SETTING = "JOURNEY_ENCRYPTION_KEY"
ENCRYPTION_KEY_FILE_SETTING = "JOURNEY_ENCRYPTION_KEY_FILE"
ENCRYPTION_SETTINGS = f"{ENCRYPTION_KEY_SETTING} or {ENCRYPTION_KEY_FILE_SETTING}"
# AES-256: the key is 32 random bytes, given as base64 (44 characters).
ENCRYPTION_KEY_BYTES = 32
_KEY_HINT = "one base64 key of 32 random bytes"
# The key id is a digest of the key under this label: it names the key in every payload's
# metadata without revealing anything of it, and needs no configuration of its own.
_KEY_ID_LABEL = b"journey payload key id\x00"
KEY_ID_CHARS = 16


@dataclass(frozen=True)
class EncryptionKey:
    """One AES-256 key and its id (a digest of the key, so every client derives the same)."""

    secret: bytes = field(repr=False)

    @property
    def id(self) -> str:
        return hashlib.sha256(_KEY_ID_LABEL + self.secret).hexdigest()[:KEY_ID_CHARS]


@dataclass(frozen=True)
class KeyRing:
    """The keys of payload encryption: the first encrypts, every one decrypts. Empty:
    payloads go to Temporal in clear, as journeys always did without a key."""

    keys: tuple[EncryptionKey, ...] = ()
    # The setting the keys come from, named in every message about them.
    source: str = ENCRYPTION_SETTINGS

    @property
    def encrypting(self) -> EncryptionKey | None:
        return self.keys[0] if self.keys else None

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(key.id for key in self.keys)

    def find(self, key_id: str) -> EncryptionKey | None:
        return next((key for key in self.keys if key.id == key_id), None)


def encryption_keys() -> KeyRing:
    """JOURNEY_ENCRYPTION_KEY (one key) or JOURNEY_ENCRYPTION_KEY_FILE (one key a line,
    blank lines and `#` comments skipped; the first encrypts, all decrypt); neither: no
    key. A key that is not base64 of exactly 32 bytes, both settings at once, a file that
    cannot be read or holds no key is bad input naming the setting (and the line). The
    message never shows a key."""
    single, path = setting(ENCRYPTION_KEY_SETTING), setting(ENCRYPTION_KEY_FILE_SETTING)
    if single is not None and path is not None:
        raise InputError(
            f"{ENCRYPTION_KEY_SETTING} and {ENCRYPTION_KEY_FILE_SETTING} are both set: set one "
            f"(the file lists every key, the first encrypts)"
        )
    if single is not None:
        return KeyRing((_parse_key(single, ENCRYPTION_KEY_SETTING),), ENCRYPTION_KEY_SETTING)
    if path is not None:
        return KeyRing(_read_key_file(Path(path).expanduser()), ENCRYPTION_KEY_FILE_SETTING)
    return KeyRing()


def _read_key_file(path: Path) -> tuple[EncryptionKey, ...]:
    where = f"{ENCRYPTION_KEY_FILE_SETTING}: {path}"
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError(f"{where}: not a text file ({_KEY_HINT} a line)") from None
    except OSError as err:
        raise InputError(f"{where}: cannot read it: {err.strerror or err}") from None
    keys: list[EncryptionKey] = []
    first_line: dict[bytes, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        content = line.strip()
        if not content or content.startswith("#"):
            continue
        key = _parse_key(content, f"{where} line {number}")
        if key.secret in first_line:
            raise InputError(f"{where} line {number}: the same key as line {first_line[key.secret]}")
        first_line[key.secret] = number
        keys.append(key)
    if not keys:
        raise InputError(f"{where}: holds no key ({_KEY_HINT} a line; blank lines and # comments are skipped)")
    return tuple(keys)


def _parse_key(text: str, where: str) -> EncryptionKey:
    # Both base64 alphabets: the standard one and the URL-safe one some key tools print.
    try:
        secret = base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise InputError(f"{where}: not base64 (expected {_KEY_HINT})") from None
    if len(secret) != ENCRYPTION_KEY_BYTES:
        raise InputError(
            f"{where}: the key is {len(secret)} bytes; AES-256 needs exactly {ENCRYPTION_KEY_BYTES} (expected {_KEY_HINT})"
        )
    return EncryptionKey(secret)


# Health updates the nightly sweep keeps in flight at once, across all its batches: enough
# to keep the workers' journeys busy, few enough that a 100,000-account night does not
# flood the server (bench/sweep_e2e.py measures it).
DEFAULT_SWEEP_CONCURRENCY = 32
MAX_SWEEP_CONCURRENCY = 1_000


def sweep_concurrency() -> int:
    """JOURNEY_SWEEP_CONCURRENCY: a whole number from 1 to MAX_SWEEP_CONCURRENCY; unset or
    empty: DEFAULT_SWEEP_CONCURRENCY."""
    text = setting("JOURNEY_SWEEP_CONCURRENCY")
    if text is None:
        return DEFAULT_SWEEP_CONCURRENCY
    if not text.isdigit() or not 1 <= int(text) <= MAX_SWEEP_CONCURRENCY:
        raise InputError(f"JOURNEY_SWEEP_CONCURRENCY: {text[:40]!r} is not a whole number from 1 to {MAX_SWEEP_CONCURRENCY}")
    return int(text)
