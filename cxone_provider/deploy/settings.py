"""The provider's settings: each key, its environment variable, and what they make up.

This module says what the settings are; `config` reads them (stack config first, environment
second, every problem at once).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

NAMESPACE: Final = "cxone"
PROJECT_FILES: Final = ("Pulumi.yaml", "Pulumi.yml")
TestFailurePolicy = Literal["fail", "warn"]
TEST_FAILURE_POLICIES: Final[tuple[TestFailurePolicy, ...]] = ("fail", "warn")
DEFAULT_OPERATION_TIMEOUT_S: Final = 300.0
WEBHOOK_SECRET_PREFIX: Final = "whsec_"
MIN_WEBHOOK_KEY_BYTES: Final = 24
MAX_WEBHOOK_KEY_BYTES: Final = 64


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


@dataclass(frozen=True, slots=True)
class SettingProblem:
    """One setting that is missing, malformed or unknown; `key` is the config key it concerns."""

    key: str
    message: str
    missing: Setting | None = None
    """The setting that is missing (a connection setting), None for any other problem."""


@dataclass(frozen=True, slots=True)
class SettingsContext:
    """Who reads the settings, which says how a person fixes them.

    `command` None is the provider under `pulumi`: config keys are set with `pulumi config
    set`. A `cxone` command reads the config of a stack file (`stack_file`, or none) and
    the environment.
    """

    command: str | None = None
    stack_file: Path | None = None


PULUMI: Final = SettingsContext()


def project_root(start: Path) -> Path:
    """The folder of the Pulumi.yaml at or above `start` (else `start` itself).

    The engine starts the provider in the program's folder (`main`), the program runs there
    too, but people write relative paths from the project's root.
    """
    for folder in (start, *start.parents):
        if any((folder / name).is_file() for name in PROJECT_FILES):
            return folder
    return start
