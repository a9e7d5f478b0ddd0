"""The Hugging Face Space runs what requirements.txt pins, not a Gradio of its own choosing."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def space_metadata() -> dict:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.match(r"^---\n(.*?)\n---\n", text, re.DOTALL)
    assert block, "the README starts with the Space's metadata block"
    pairs = (line.split(":", 1) for line in block.group(1).splitlines() if ":" in line)
    return {key.strip(): value.strip().strip('"') for key, value in pairs}


def test_the_space_pins_the_gradio_and_python_we_test_with():
    pinned = re.search(r"^gradio==([\w.]+)$", (ROOT / "requirements.txt").read_text(), re.M)
    meta = space_metadata()
    assert (meta["sdk"], meta["sdk_version"]) == ("gradio", pinned.group(1))
    assert re.fullmatch(r"3\.1[0-9]", meta["python_version"])
    assert meta["app_file"] == "app.py" and (ROOT / "app.py").is_file()
