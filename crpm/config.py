"""Settings from command-line flags, falling back to CRPM_* environment variables."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DB = Path("data") / "crpm.db"
DEFAULT_MAX_UPLOAD_MB = 50
SPACE_FRAME_ANCESTORS = "'self' https://huggingface.co"


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    db_path: Path = DEFAULT_DB
    host: str = "127.0.0.1"
    port: int = 7860
    share: bool = False
    demo: bool = False
    currency: str = "$"
    max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB
    # Who may show the dashboard in a frame (CSP frame-ancestors): this site; on a Hugging Face
    # Space also the Space's page around it.
    frame_ancestors: str = "'self'"

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * 1024 * 1024

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            db_path=Path(os.environ.get("CRPM_DB", str(DEFAULT_DB))),
            # A Hugging Face Space sets GRADIO_SERVER_NAME=0.0.0.0; without it the app would only
            # listen inside the container.
            host=os.environ.get("CRPM_HOST") or os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
            port=int(os.environ.get("CRPM_PORT", "7860")),
            share=_env_flag("CRPM_SHARE"),
            demo=_env_flag("CRPM_DEMO"),
            currency=os.environ.get("CRPM_CURRENCY", "$"),
            max_upload_mb=int(os.environ.get("CRPM_MAX_UPLOAD_MB", DEFAULT_MAX_UPLOAD_MB)),
            frame_ancestors=SPACE_FRAME_ANCESTORS if "SPACE_ID" in os.environ else "'self'",
        )


def app_settings(argv: list[str] | None = None) -> Settings:
    """Settings for `python app.py`: flags win over the environment."""
    env = Settings.from_env()
    parser = argparse.ArgumentParser(description="CRPM dashboard")
    parser.add_argument("--db", default=str(env.db_path), help="SQLite store (created if missing)")
    parser.add_argument("--host", default=env.host, help="address to listen on")
    parser.add_argument("--port", type=int, default=env.port, help="port to listen on")
    parser.add_argument(
        "--share", action="store_true", default=env.share, help="also serve on a public Gradio link"
    )
    parser.add_argument(
        "--demo", action="store_true", default=env.demo, help="fill an empty store with demo data"
    )
    parser.add_argument("--currency", default=env.currency, help="symbol shown before amounts")
    parser.add_argument(
        "--max-upload-mb", type=int, default=env.max_upload_mb, help="largest file to upload (MB)"
    )
    args = parser.parse_args(argv)
    return Settings(
        Path(args.db),
        args.host,
        args.port,
        args.share,
        args.demo,
        args.currency,
        args.max_upload_mb,
        env.frame_ancestors,
    )
