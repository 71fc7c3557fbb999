"""``python -m theory.semdedup``: the SemDeDup command (:mod:`theory.semdedup.cli`)."""

import sys

from theory.semdedup.cli import main

sys.exit(main())
