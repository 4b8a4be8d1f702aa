"""The provider's settings: stack config first, environment second, every problem reported at once.

Inside the dynamic-provider plugin the stack config arrives through `configure` with fully
namespaced keys (`"cxone:clientSecret"`) and string values, secrets already decrypted. Each
setting falls back to an environment variable, so CI can inject credentials without config.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import urlsplit

from cxone_provider.errors import ConfigurationError
from cxone_provider.urls import redacted, shown_url

NAMESPACE: Final = "cxone"
PROJECT_FILES: Final = ("Pulumi.yaml", "Pulumi.yml")
TestFailurePolicy = Literal["fail", "warn"]
TEST_FAILURE_POLICIES: Final[tuple[TestFailurePolicy, ...]] = ("fail", "warn")
DEFAULT_OPERATION_TIMEOUT_S: Final = 300.0
WEBHOOK_SECRET_PREFIX: Final = "whsec_"
MIN_WEBHOOK_KEY_BYTES: Final = 24
MAX_WEBHOOK_KEY_BYTES: Final = 64

_SITE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Setting:
    """One configuration key: where it comes from, whether it is secret, and what it is for."""

    key: str
    env: str | None
    secret: bool
    meaning: str
    example: str

    @property
    def config_key(self) -> str:
        """The key as the stack config names it, e.g. `cxone:clientId`."""
        return f"{NAMESPACE}:{self.key}"

    def fix_command(self) -> str:
        """The `pulumi config set` command that provides this setting."""
        secret = "--secret " if self.secret else ""
        return f"pulumi config set {secret}{self.config_key} {self.example}"


BASE_URL = Setting(
    "baseUrl",
    "CXONE_BASE_URL",
    secret=False,
    meaning="API base URL of the tenant or emulator",
    example="https://<site>.api.nicecxone.com",
)
SITE = Setting(
    "site",
    "CXONE_SITE",
    secret=False,
    meaning="tenant site; gives https://<site>.api.nicecxone.com",
    example="<site>",
)
CLIENT_ID = Setting(
    "clientId", "CXONE_CLIENT_ID", secret=False, meaning="OAuth client id", example="<client id>"
)
CLIENT_SECRET = Setting(
    "clientSecret",
    "CXONE_CLIENT_SECRET",
    secret=True,
    meaning="OAuth client secret",
    example="<client secret>",
)
WEBHOOK_URL = Setting(
    "webhookUrl",
    "WEBHOOK_URL",
    secret=False,
    meaning="endpoint notified after each change (optional)",
    example="https://hooks.example.com/cxone",
)
WEBHOOK_SECRET = Setting(
    "webhookSecret",
    "CXONE_WEBHOOK_SECRET",
    secret=True,
    meaning="Standard Webhooks signing secret (optional)",
    example="whsec_<base64 key>",
)
AUDIT_LOG = Setting(
    "auditLog",
    "CXONE_AUDIT_LOG",
    secret=False,
    meaning="path of the JSON-lines audit log, relative to the project's root (optional)",
    example="audit/cxone.jsonl",
)
ON_TEST_FAILURE = Setting(
    "onTestFailure",
    "CXONE_ON_TEST_FAILURE",
    secret=False,
    meaning="default policy when a sandbox test fails: fail or warn",
    example="fail",
)
OPERATION_TIMEOUT = Setting(
    "operationTimeout",
    "CXONE_OPERATION_TIMEOUT",
    secret=False,
    meaning="deadline in seconds for one create, update or delete",
    example="300",
)

SETTINGS: Final = (
    BASE_URL,
    SITE,
    CLIENT_ID,
    CLIENT_SECRET,
    WEBHOOK_URL,
    WEBHOOK_SECRET,
    AUDIT_LOG,
    ON_TEST_FAILURE,
    OPERATION_TIMEOUT,
)


@dataclass(frozen=True, slots=True)
class Connection:
    """Where and as whom to call the API; the key of the process-wide client cache."""

    base_url: str
    client_id: str
    client_secret: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Webhook:
    """Where change events go, and the key that signs them (None: unsigned)."""

    url: str
    secret: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class ProviderSettings:
    """Everything the provider needs beyond the resource inputs; reprs never show a secret."""

    connection: Connection
    webhook: Webhook | None = None
    audit_log: Path | None = None
    on_test_failure: TestFailurePolicy = "fail"
    operation_timeout_s: float = DEFAULT_OPERATION_TIMEOUT_S


def project_root(start: Path) -> Path:
    """The folder of the Pulumi.yaml at or above `start` (else `start` itself).

    The engine starts the provider in the program's folder (`main`), the program runs there
    too, but people write relative paths from the project's root.
    """
    for folder in (start, *start.parents):
        if any((folder / name).is_file() for name in PROJECT_FILES):
            return folder
    return start


def load_settings(
    config: Callable[[str], Any] | Mapping[str, Any],
    environ: Mapping[str, str],
    *,
    root: Path | None = None,
) -> ProviderSettings:
    """Read every setting (config key first, then its environment variable) or raise one error.

    `config` looks up fully namespaced keys (`"cxone:baseUrl"`), as `pulumi.dynamic.Config.get`
    does; relative paths are resolved against `root` (default: the project's root above the
    working folder). The ConfigurationError lists every missing or malformed setting with the
    commands that fix it; it never repeats a secret's value.
    """
    lookup = config.get if isinstance(config, Mapping) else config

    def read(setting: Setting) -> str | None:
        value = lookup(setting.config_key)
        if value is None and setting.env is not None:
            value = environ.get(setting.env)
        if value is None:
            return None
        text = str(value).strip()
        return text or None

    problems: list[str] = []
    fixes: list[Setting] = []
    base_url = _base_url(read(BASE_URL), read(SITE), problems)
    if base_url is None and not problems:
        problems.append(f"missing {BASE_URL.config_key} (or {SITE.config_key})")
        fixes.append(BASE_URL)
    client_id = read(CLIENT_ID)
    client_secret = read(CLIENT_SECRET)
    for setting, value in ((CLIENT_ID, client_id), (CLIENT_SECRET, client_secret)):
        if value is None:
            problems.append(f"missing {setting.config_key} ({setting.meaning})")
            fixes.append(setting)
    webhook = _webhook(read(WEBHOOK_URL), read(WEBHOOK_SECRET), problems)
    audit_log = _audit_log(read(AUDIT_LOG), root or project_root(Path.cwd()), problems)
    policy = _policy(read(ON_TEST_FAILURE), problems)
    timeout = _timeout(read(OPERATION_TIMEOUT), problems)
    if problems or base_url is None or client_id is None or client_secret is None:
        raise ConfigurationError(_describe(problems, fixes))
    return ProviderSettings(
        connection=Connection(base_url, client_id, client_secret),
        webhook=webhook,
        audit_log=audit_log,
        on_test_failure=policy,
        operation_timeout_s=timeout,
    )


def _base_url(base_url: str | None, site: str | None, problems: list[str]) -> str | None:
    if base_url is not None:
        parts = urlsplit(base_url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            problems.append(
                f"{BASE_URL.config_key} is {shown_url(base_url)!r}: use an http(s) URL such as "
                "https://<site>.api.nicecxone.com or http://127.0.0.1:8765"
            )
            return None
        return shown_url(base_url).rstrip("/")  # the API needs no user:password@ nor query
    if site is not None:
        if not _SITE.fullmatch(site):
            problems.append(
                f"{SITE.config_key} is {site!r}: use the site name only (letters, digits and "
                "hyphens), e.g. `acme` for https://acme.api.nicecxone.com"
            )
            return None
        return f"https://{site.lower()}.api.nicecxone.com"
    return None


def _webhook(url: str | None, secret: str | None, problems: list[str]) -> Webhook | None:
    if secret is not None and not _valid_webhook_secret(secret):
        problems.append(
            f"{WEBHOOK_SECRET.config_key} is not a Standard Webhooks secret: it must be "
            f"'{WEBHOOK_SECRET_PREFIX}' followed by the base64 of {MIN_WEBHOOK_KEY_BYTES} to "
            f"{MAX_WEBHOOK_KEY_BYTES} random bytes (the value is not shown because it is secret)"
        )
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        problems.append(f"{WEBHOOK_URL.config_key} is {redacted(url)!r}: use an http(s) URL")
        return None
    return Webhook(url, secret)


def _valid_webhook_secret(secret: str) -> bool:
    if not secret.startswith(WEBHOOK_SECRET_PREFIX):
        return False
    try:
        key = base64.b64decode(secret.removeprefix(WEBHOOK_SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        return False
    return MIN_WEBHOOK_KEY_BYTES <= len(key) <= MAX_WEBHOOK_KEY_BYTES


def _audit_log(path: str | None, root: Path, problems: list[str]) -> Path | None:
    if path is None:
        return None
    log = root / Path(path).expanduser()
    if not log.parent.is_dir():
        problems.append(
            f"{AUDIT_LOG.config_key} is {path!r} but the directory {str(log.parent)!r} does not "
            "exist; create it or choose another path"
        )
        return None
    if log.is_dir():
        problems.append(f"{AUDIT_LOG.config_key} is {path!r}, a directory; name a file in it")
        return None
    return log


def _policy(value: str | None, problems: list[str]) -> TestFailurePolicy:
    if value is None:
        return "fail"
    for policy in TEST_FAILURE_POLICIES:
        if value.lower() == policy:
            return policy
    problems.append(f"{ON_TEST_FAILURE.config_key} is {value!r}: use 'fail' or 'warn'")
    return "fail"


def _timeout(value: str | None, problems: list[str]) -> float:
    if value is None:
        return DEFAULT_OPERATION_TIMEOUT_S
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds > 0 or seconds == float("inf"):
        problems.append(f"{OPERATION_TIMEOUT.config_key} is {value!r}: use a number of seconds > 0")
        return DEFAULT_OPERATION_TIMEOUT_S
    return seconds


def _describe(problems: list[str], fixes: list[Setting]) -> str:
    lines = [f"The cxone provider is not configured ({len(problems)} problem(s)):"]
    lines += [f"  - {problem}" for problem in problems]
    if fixes:
        lines.append("To fix, run in the project directory, for the selected stack:")
        lines += [f"  {setting.fix_command()}" for setting in fixes]
        if BASE_URL in fixes:
            lines.append(f"  (or instead of {BASE_URL.config_key}: {SITE.fix_command()})")
        envs = ", ".join(
            f"{setting.env}" + (f" (or {SITE.env})" if setting is BASE_URL else "")
            for setting in fixes
        )
        lines.append(f"or set the environment variable(s) {envs} before running pulumi.")
    return "\n".join(lines)
