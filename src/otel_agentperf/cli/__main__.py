"""``python -m otel_agentperf.cli``: the same as the ``agentperf`` command."""

import sys

from otel_agentperf.cli import main

sys.exit(main())
