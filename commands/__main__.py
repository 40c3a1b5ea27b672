"""`python -m commands ...`: the offline command line (plan, cost, render, db, loadtest)."""

import sys

from commands.cli import main

sys.exit(main())
