"""`python -m components ...`: the offline command line (plan, cost, render, db, loadtest)."""

import sys

from components.cli import main

sys.exit(main())
