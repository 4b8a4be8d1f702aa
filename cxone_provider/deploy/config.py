"""Reading the provider's settings: stack config first, environment second, every problem at once.

Inside the dynamic-provider plugin the stack config arrives through `configure` with fully
namespaced keys (`"cxone:clientSecret"`) and string values, secrets already decrypted. Each
setting falls back to an environment variable, so CI can inject credentials without config.
The command line reads a stack file's config the same way (`SettingsContext` says whose
fixes to print).
"""

from __future__ import annotations

import base64
import binascii
import difflib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from cxone_provider.api.errors import ConfigurationError
from cxone_provider.api.urls import is_loopback, plain_http_problem, redacted, shown_url
from cxone_provider.deploy.settings import (
    AUDIT_LOG,
    BASE_URL,
    CLIENT_ID,
    CLIENT_SECRET,
    DEFAULT_OPERATION_TIMEOUT_S,
    MAX_WEBHOOK_KEY_BYTES,
    MIN_WEBHOOK_KEY_BYTES,
    NAMESPACE,
    ON_TEST_FAILURE,
    OPERATION_TIMEOUT,
    PULUMI,
    SETTINGS,
    SITE,
    TEST_FAILURE_POLICIES,
    WEBHOOK_SECRET,
    WEBHOOK_SECRET_PREFIX,
    WEBHOOK_URL,
    Connection,
    ProviderSettings,
    Setting,
    SettingProblem,
    SettingsContext,
    TestFailurePolicy,
    Webhook,
    project_root,
)

# Config key names that hold credentials, in any namespace and at any depth of a structured
# value (`aws:secretKey`, `db:password`, `app:database: {pwd: ...}`): a part of the name...
_SECRET_KEY = re.compile(
    r"secret|passw(or)?d|passphrase|token|credential|private|api[_-]?key|auth", re.IGNORECASE
)
# ... or one of its words (`dbPwd`, `signing_key`, `app:pass`), split at case and punctuation.
_SECRET_WORDS: Final = frozenset({"pass", "pwd", "key", "keys"})
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_SITE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _Value:
    """A setting's text and where it came from: the config key, or the environment variable."""

    text: str
    source: str


def load_settings(
    config: Callable[[str], Any] | Mapping[str, Any],
    environ: Mapping[str, str],
    *,
    root: Path | None = None,
    context: SettingsContext = PULUMI,
) -> ProviderSettings:
    """Read every setting (config key first, then its environment variable) or raise one error.

    `config` looks up fully namespaced keys (`"cxone:baseUrl"`), as `pulumi.dynamic.Config.get`
    does; relative paths are resolved against `root` (default: the project's root above the
    working folder). The ConfigurationError lists every missing or malformed setting, named
    by where its value came from, with the fixes for that `context`; it never repeats a
    secret's value.
    """
    settings, problems = _read(config, environ, root or project_root(Path.cwd()))
    if settings is None:
        raise ConfigurationError(_describe(problems, context))
    return settings


def setting_problems(
    config: Mapping[str, Any],
    environ: Mapping[str, str],
    *,
    root: Path,
    keys: Iterable[str] = (),
) -> list[SettingProblem]:
    """What is wrong with the values given, checked offline; missing connection settings aside.

    `root` is the project's root (relative paths start there). `keys` are every key of the
    stack's config (encrypted ones included): a key in the `cxone:` namespace that is no
    setting is a problem, with the closest setting named.
    """
    _, problems = _read(config, environ, root)
    found = [problem for problem in problems if problem.missing is None]
    known = {setting.config_key.lower(): setting.config_key for setting in SETTINGS}
    for key in dict.fromkeys(keys):
        if not key.startswith(f"{NAMESPACE}:") or key in known.values():
            continue
        close = difflib.get_close_matches(key.lower(), known, n=1, cutoff=0.6)
        hint = f"did you mean {known[close[0]]}? " if close else ""
        names = ", ".join(setting.config_key for setting in SETTINGS)
        found.append(
            SettingProblem(
                key, f"{key} is not a setting of the cxone provider; {hint}the settings are {names}"
            )
        )
    return found


def plaintext_secrets(config: Mapping[str, str]) -> list[SettingProblem]:
    """Config values that look secret but are set in plain text (any namespace, any depth).

    Pulumi records the stack's whole config in the state at each `pulumi up`; only values set
    with `--secret` stay encrypted there. Looks secret: a key named like a credential, or a
    URL carrying a user, a password or a query string, at the top or anywhere inside a
    structured value (JSON text, as the engine passes it). The emulator's credentials on this
    machine (a loopback base URL) are no secret. Values are never repeated in the message.
    """
    base_url = config.get(BASE_URL.config_key)
    local = base_url is not None and is_loopback(urlsplit(base_url).hostname or "")
    found = []
    for key, value in config.items():
        if local and key == CLIENT_SECRET.config_key:
            continue
        name = key.partition(":")[2] or key
        if _looks_secret_name(name) or _url_with_credentials(value):
            where = key
        else:
            inner = _secret_path(_structured(value))
            if inner is None:
                continue
            where = f"{key} (at {inner})"
        found.append(
            SettingProblem(
                key,
                f"{where} looks secret but is set in plain text, and Pulumi records the stack's "
                f"whole config in its state: set it with `pulumi config set --secret {key}`, "
                "or pass it in an environment variable",
            )
        )
    return found


def _looks_secret_name(name: str) -> bool:
    words = {word.lower() for word in _WORD.findall(name)}
    return bool(_SECRET_KEY.search(name)) or not words.isdisjoint(_SECRET_WORDS)


def _structured(value: str) -> Any:
    """A structured config value (JSON text of an object or a list), else None."""
    if not value.lstrip().startswith(("{", "[")):
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


def _secret_path(value: Any) -> str | None:
    """The path of the first secret-looking entry inside a structured value, or None.

    An entry looks secret when its key is named like a credential and it holds some text or
    number, or when it is a URL carrying credentials. Walked without recursion.
    """
    pending: list[tuple[str, Any]] = [("", value)]
    while pending:
        path, item = pending.pop()
        if isinstance(item, str) and _url_with_credentials(item):
            return path or "the value"
        children = ([(str(k), v) for k, v in item.items()] if isinstance(item, dict) else []) + (
            [(f"[{i}]", v) for i, v in enumerate(item)] if isinstance(item, list) else []
        )
        for key, child in reversed(children):
            child_path = f"{path}{key}" if key.startswith("[") or not path else f"{path}.{key}"
            if not key.startswith("[") and _looks_secret_name(key) and _holds_text(child):
                return child_path
            pending.append((child_path, child))
    return None


def _holds_text(value: Any) -> bool:
    """Whether a value holds a non-empty string or a number anywhere (a secret could be it)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif (isinstance(item, str) and item) or (
            isinstance(item, int | float) and not isinstance(item, bool)
        ):
            return True
    return False


def _url_with_credentials(value: str) -> bool:
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"}:
        return False
    return bool(parts.username or parts.password or parts.query)


def _read(
    config: Callable[[str], Any] | Mapping[str, Any], environ: Mapping[str, str], root: Path
) -> tuple[ProviderSettings | None, list[SettingProblem]]:
    lookup = config.get if isinstance(config, Mapping) else config

    def read(setting: Setting) -> _Value | None:
        value, source = lookup(setting.config_key), setting.config_key
        if value is None and setting.env is not None:
            value, source = environ.get(setting.env), f"{setting.env} (environment variable)"
        if value is None:
            return None
        text = str(value).strip()
        return _Value(text, source) if text else None

    problems: list[SettingProblem] = []
    base_url = _base_url(read(BASE_URL), read(SITE), problems)
    if base_url is None and not problems:
        problems.append(
            SettingProblem(
                BASE_URL.config_key,
                f"missing {BASE_URL.config_key} (or {SITE.config_key})",
                missing=BASE_URL,
            )
        )
    client_id = read(CLIENT_ID)
    client_secret = read(CLIENT_SECRET)
    for setting, value in ((CLIENT_ID, client_id), (CLIENT_SECRET, client_secret)):
        if value is None:
            problems.append(
                SettingProblem(
                    setting.config_key,
                    f"missing {setting.config_key} ({setting.meaning})",
                    missing=setting,
                )
            )
    webhook = _webhook(read(WEBHOOK_URL), read(WEBHOOK_SECRET), problems)
    audit_log = _audit_log(read(AUDIT_LOG), root or project_root(Path.cwd()), problems)
    policy = _policy(read(ON_TEST_FAILURE), problems)
    timeout = _timeout(read(OPERATION_TIMEOUT), problems)
    if problems or base_url is None or client_id is None or client_secret is None:
        return None, problems
    settings = ProviderSettings(
        connection=Connection(base_url, client_id.text, client_secret.text),
        webhook=webhook,
        audit_log=audit_log,
        on_test_failure=policy,
        operation_timeout_s=timeout,
    )
    return settings, problems


def _base_url(
    base_url: _Value | None, site: _Value | None, problems: list[SettingProblem]
) -> str | None:
    if base_url is not None:
        parts = urlsplit(base_url.text)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            problems.append(
                SettingProblem(
                    BASE_URL.config_key,
                    f"{base_url.source} is {shown_url(base_url.text)!r}: use an http(s) URL "
                    "such as https://<site>.api.nicecxone.com or http://127.0.0.1:8765",
                )
            )
            return None
        insecure = plain_http_problem(base_url.text)
        if insecure is not None:
            problems.append(SettingProblem(BASE_URL.config_key, f"{base_url.source}: {insecure}"))
            return None
        return shown_url(base_url.text).rstrip("/")  # the API needs no user:password@ nor query
    if site is not None:
        if not _SITE.fullmatch(site.text):
            problems.append(
                SettingProblem(
                    SITE.config_key,
                    f"{site.source} is {site.text!r}: use the site name only (letters, digits "
                    "and hyphens), e.g. `acme` for https://acme.api.nicecxone.com",
                )
            )
            return None
        return f"https://{site.text.lower()}.api.nicecxone.com"
    return None


def _webhook(
    url: _Value | None, secret: _Value | None, problems: list[SettingProblem]
) -> Webhook | None:
    if secret is not None and not _valid_webhook_secret(secret.text):
        problems.append(
            SettingProblem(
                WEBHOOK_SECRET.config_key,
                f"{secret.source} is not a Standard Webhooks secret: it must be "
                f"'{WEBHOOK_SECRET_PREFIX}' followed by the base64 of {MIN_WEBHOOK_KEY_BYTES} "
                f"to {MAX_WEBHOOK_KEY_BYTES} random bytes (the value is not shown because it "
                "is secret)",
            )
        )
    if url is None:
        return None
    parts = urlsplit(url.text)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        problems.append(
            SettingProblem(
                WEBHOOK_URL.config_key,
                f"{url.source} is {redacted(url.text)!r}: use an http(s) URL",
            )
        )
        return None
    return Webhook(url.text, secret.text if secret is not None else None)


def _valid_webhook_secret(secret: str) -> bool:
    if not secret.startswith(WEBHOOK_SECRET_PREFIX):
        return False
    try:
        key = base64.b64decode(secret.removeprefix(WEBHOOK_SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        return False
    return MIN_WEBHOOK_KEY_BYTES <= len(key) <= MAX_WEBHOOK_KEY_BYTES


def _audit_log(path: _Value | None, root: Path, problems: list[SettingProblem]) -> Path | None:
    if path is None:
        return None
    log = root / Path(path.text).expanduser()
    if not log.parent.is_dir():
        problems.append(
            SettingProblem(
                AUDIT_LOG.config_key,
                f"{path.source} is {path.text!r} but the directory {str(log.parent)!r} does not "
                "exist; create it or choose another path",
            )
        )
        return None
    if log.is_dir():
        problems.append(
            SettingProblem(
                AUDIT_LOG.config_key,
                f"{path.source} is {path.text!r}, a directory; name a file in it",
            )
        )
        return None
    return log


def _policy(value: _Value | None, problems: list[SettingProblem]) -> TestFailurePolicy:
    if value is None:
        return "fail"
    for policy in TEST_FAILURE_POLICIES:
        if value.text.lower() == policy:
            return policy
    problems.append(
        SettingProblem(
            ON_TEST_FAILURE.config_key, f"{value.source} is {value.text!r}: use 'fail' or 'warn'"
        )
    )
    return "fail"


def _timeout(value: _Value | None, problems: list[SettingProblem]) -> float:
    if value is None:
        return DEFAULT_OPERATION_TIMEOUT_S
    try:
        seconds = float(value.text)
    except ValueError:
        seconds = -1.0
    if not seconds > 0 or seconds == float("inf"):
        problems.append(
            SettingProblem(
                OPERATION_TIMEOUT.config_key,
                f"{value.source} is {value.text!r}: use a number of seconds > 0",
            )
        )
        return DEFAULT_OPERATION_TIMEOUT_S
    return seconds


def _describe(problems: list[SettingProblem], context: SettingsContext) -> str:
    lines = [f"The cxone provider is not configured ({len(problems)} problem(s)):"]
    lines += [f"  - {problem.message}" for problem in problems]
    fixes = [problem.missing for problem in problems if problem.missing is not None]
    if not fixes:
        return "\n".join(lines)
    envs = ", ".join(
        f"{setting.env}" + (f" (or {SITE.env})" if setting is BASE_URL else "") for setting in fixes
    )
    if context.command is None:
        lines.append("To fix, run in the project directory, for the selected stack:")
        lines += [f"  {setting.fix_command()}" for setting in fixes]
        if BASE_URL in fixes:
            lines.append(f"  (or instead of {BASE_URL.config_key}: {SITE.fix_command()})")
        lines.append(f"or set the environment variable(s) {envs} before running pulumi.")
        return "\n".join(lines)
    keys = ", ".join(setting.config_key for setting in fixes if not setting.secret)
    end = "," if keys else "."
    lines.append(
        f"To fix, set the environment variable(s) {envs} before running {context.command}{end}"
    )
    if context.stack_file is not None and keys:
        lines.append(f"or add {keys} to {context.stack_file} (secrets stay in the environment).")
    elif keys:
        lines.append(f"or give --stack, a stack whose config file sets {keys}.")
    return "\n".join(lines)
