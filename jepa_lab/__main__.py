"""``python -m jepa_lab ...`` is the same as the ``jepa-lab`` command (see jepa_lab.cli.main)."""

import sys

from .cli.main import main

if __name__ == "__main__":
    sys.exit(main())
