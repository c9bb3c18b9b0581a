"""The `dqs` console script. Importing the CLI takes a moment; Ctrl-C during that moment still
ends with the documented message and exit code, not a traceback."""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from dqs.cli.app import main as run
    except KeyboardInterrupt:
        sys.stderr.write("dqs: error: interrupted\n")
        sys.exit(130)
    run()
