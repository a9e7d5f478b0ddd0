"""Settings: one table, `SETTINGS`, makes the dashboard's flags (`python app.py --help`),
`Settings.from_env()` and the README's Settings section (`settings_markdown`, checked by
tests/unit/test_docs.py).

Environment variables are read here and nowhere else in crpm/: the rest of the code gets the
values passed in. (GRADIO_ANALYTICS_ENABLED is only set, in crpm/ui/__init__.py, because it
must be set before gradio is imported.)
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DEFAULT_DB = Path("data") / "crpm.db"
DEFAULT_MAX_UPLOAD_MB = 50
DEFAULT_SCRYPT_N = 2**14  # ~50-100 ms a hash on a small server
SPACE_FRAME_ANCESTORS = "'self' https://huggingface.co"
TRUE_WORDS = ("1", "true", "yes", "on")


def store_location(text: str) -> Path | str:
    """--db / CRPM_DB: a URL (postgresql://..., sqlite:///...) is kept as written, anything else
    is a path to the SQLite file."""
    return text if "://" in text else Path(text)


@dataclass(frozen=True)
class Setting:
    name: str  # the field of Settings
    env: str  # the environment variable
    default: object
    help: str
    type: type = str  # str, int, bool, Path, or a function of the text (store_location)
    flag: str | None = None  # the dashboard's flag; None: environment only
    fallback_env: str | None = None  # read when `env` is unset or empty

    def parse(self, text: str):
        """The value of the environment variable's text."""
        if self.type is bool:
            return text.strip().lower() in TRUE_WORDS
        if self.type is int:
            if not text.strip():
                return self.default
            try:
                return int(text)
            except ValueError:
                raise ValueError(f"{self.env}={text!r}: not a whole number") from None
        return self.type(text)


SETTINGS = (
    Setting(
        "db_path",
        "CRPM_DB",
        DEFAULT_DB,
        "the store: a SQLite file (created if missing; or `sqlite:///PATH`) or a PostgreSQL"
        " database `postgresql://USER@HOST:PORT/DBNAME`",
        store_location,
        "--db",
    ),
    Setting(
        "host",
        "CRPM_HOST",
        "127.0.0.1",
        "address to listen on (0.0.0.0: every interface; a Hugging Face Space sets that)",
        str,
        "--host",
        fallback_env="GRADIO_SERVER_NAME",
    ),
    Setting("port", "CRPM_PORT", 7860, "port to listen on", int, "--port"),
    Setting("share", "CRPM_SHARE", False, "also serve on a public Gradio link", bool, "--share"),
    Setting("demo", "CRPM_DEMO", False, "fill an empty store with demo data", bool, "--demo"),
    Setting("currency", "CRPM_CURRENCY", "$", "symbol shown before amounts", str, "--currency"),
    Setting(
        "max_upload_mb",
        "CRPM_MAX_UPLOAD_MB",
        DEFAULT_MAX_UPLOAD_MB,
        "largest file to upload (MB)",
        int,
        "--max-upload-mb",
    ),
    Setting(
        "admin_password",
        "CRPM_ADMIN_PASSWORD",
        None,
        "first start: the password of the `admin` login (unset: one is generated and printed once)",
    ),
    Setting(
        "trusted_proxy",
        "CRPM_TRUSTED_PROXY",
        False,
        "count logins against the address a proxy appends last to X-Forwarded-For"
        " (behind a proxy not on 127.0.0.1, e.g. a Hugging Face Space)",
        bool,
    ),
    Setting(
        "scrypt_n",
        "CRPM_SCRYPT_N",
        DEFAULT_SCRYPT_N,
        "scrypt cost of new password hashes, a power of two (tests lower it)",
        int,
    ),
    Setting(
        "cache_dir",
        "CRPM_CACHE_DIR",
        None,
        "folder of the analytics mirrors kept for PostgreSQL stores (unset: `$XDG_CACHE_HOME/crpm`,"
        " else `~/.cache/crpm`); a SQLite store's lies beside it",
        Path,
    ),
)
# Read as well, set by the platform rather than by the user.
PLATFORM_ENV = {
    "SPACE_ID": "set on a Hugging Face Space: the Space's page may show the dashboard in a frame",
}
_DEFAULTS = {setting.name: setting.default for setting in SETTINGS}


@dataclass(frozen=True)
class Settings:
    db_path: Path | str = _DEFAULTS["db_path"]
    host: str = _DEFAULTS["host"]
    port: int = _DEFAULTS["port"]
    share: bool = _DEFAULTS["share"]
    demo: bool = _DEFAULTS["demo"]
    currency: str = _DEFAULTS["currency"]
    max_upload_mb: int = _DEFAULTS["max_upload_mb"]
    admin_password: str | None = field(default=_DEFAULTS["admin_password"], repr=False)
    trusted_proxy: bool = _DEFAULTS["trusted_proxy"]
    scrypt_n: int = _DEFAULTS["scrypt_n"]
    cache_dir: Path | None = _DEFAULTS["cache_dir"]
    # Who may show the dashboard in a frame (CSP frame-ancestors): this site; on a Hugging Face
    # Space also the Space's page around it.
    frame_ancestors: str = "'self'"

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    @classmethod
    def from_env(cls) -> Settings:
        values = {}
        for setting in SETTINGS:
            text = os.environ.get(setting.env)
            if not text and setting.fallback_env:
                text = os.environ.get(setting.fallback_env)
            values[setting.name] = setting.default if text is None else setting.parse(text)
        space = "SPACE_ID" in os.environ
        return cls(**values, frame_ancestors=SPACE_FRAME_ANCESTORS if space else "'self'")


def cache_dir() -> Path:
    """Where kept caches go (crpm/analytics/mirrorfile.py): $CRPM_CACHE_DIR, else the user's."""
    chosen = os.environ.get("CRPM_CACHE_DIR")
    if chosen:
        return Path(chosen)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "crpm"


@lru_cache(maxsize=1)
def server_zone() -> str:
    """The server's IANA time zone: $TZ, else where /etc/localtime points, else UTC. The shop's
    days default to it until an admin sets the shop's own zone (crpm/services/taxes.py)."""
    for name in (os.environ.get("TZ", "").lstrip(":"), _localtime_name()):
        if name:
            try:
                ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
            return "UTC" if name in ("Etc/UTC", "Etc/Universal", "Universal", "Zulu") else name
    return "UTC"


def _localtime_name() -> str:
    target = os.path.realpath("/etc/localtime")
    _, found, name = target.partition("zoneinfo/")
    return name if found else ""


def app_settings(argv: list[str] | None = None) -> Settings:
    """Settings for `python app.py`: flags win over the environment."""
    env = Settings.from_env()
    parser = argparse.ArgumentParser(description="CRPM dashboard")
    for setting in SETTINGS:
        if setting.flag is None:
            continue
        default = getattr(env, setting.name)
        if setting.type is bool:
            options = {"action": "store_true"}
        else:
            options = {"type": setting.type, "metavar": setting.flag[2:].upper().replace("-", "_")}
        parser.add_argument(
            setting.flag,
            dest=setting.name,
            default=default,
            help=f"{setting.help} (${setting.env})".replace("%", "%%"),
            **options,
        )
    args = vars(parser.parse_args(argv))
    return Settings(**{**env.__dict__, **args})


def settings_markdown() -> str:
    """The README's table of settings."""
    lines = ["| flag | environment variable | default | meaning |", "|---|---|---|---|"]
    for setting in SETTINGS:
        flag = f"`{setting.flag}`" if setting.flag else "(none)"
        env = f"`{setting.env}`"
        if setting.fallback_env:
            env += f", else `{setting.fallback_env}`"
        if setting.type is bool:
            default = "off (`1`, `true`, `yes`, `on`: on)"
        elif setting.default is None:
            default = "(none)"
        else:
            default = f"`{setting.default}`"
        lines.append(f"| {flag} | {env} | {default} | {setting.help} |")
    for name, meaning in PLATFORM_ENV.items():
        lines.append(f"| (none) | `{name}` | (unset) | {meaning} |")
    return "\n".join(lines)
