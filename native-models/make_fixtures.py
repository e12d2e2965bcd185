"""The test fixtures: `npm run fixtures` runs this (spear_voice/fixtures.py says what it makes)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the spear_voice package beside this file
from spear_voice.fixtures import main  # noqa: E402

if __name__ == "__main__":
    main()
