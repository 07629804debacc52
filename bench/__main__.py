"""`python -m bench`: the benchmark of issue 5."""

import sys

from bench.run import main

sys.exit(main())
