"""`python -m localhb` is the `localhb` command."""

import sys

from localhb.cli import main

sys.exit(main())
