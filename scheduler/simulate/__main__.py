"""`python -m scheduler.simulate`: see scheduler/simulate/README.md."""

import sys

from scheduler.simulate.cli import main

sys.exit(main())
