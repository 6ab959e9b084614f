"""``python -m testkit.hostile``: the bench's full run (see the package's docstring)."""

from testkit.hostile.report import main

main()
