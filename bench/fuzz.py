"""The endpoint fuzz, longer: tests/api/test_fuzz_endpoints.py with more examples per handler
and role (CI runs 3).

    .venv/bin/python bench/fuzz.py [--examples 50] [pytest options...]

Prints pytest's report: every finding with the handler, its inputs and what went wrong.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=50)
    args, rest = parser.parse_known_args()
    env = {**os.environ, "CRPM_FUZZ_EXAMPLES": str(args.examples)}
    test = "tests/api/test_fuzz_endpoints.py"
    command = [sys.executable, "-m", "pytest", test, "-p", "no:logging", "--tb=short", *rest]
    return subprocess.call(command, cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main())
