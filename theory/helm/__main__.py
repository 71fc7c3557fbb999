"""``python -m theory.helm``: the evaluation tool (:mod:`theory.helm.cli`)."""

import sys

from theory.helm.cli import main

sys.exit(main())
