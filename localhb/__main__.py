"""`python -m localhb` is the `localhb` command."""

import sys

from localhb.entry import main

sys.exit(main())
