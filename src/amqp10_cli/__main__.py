"""``python -m amqp10_cli``: the ``amqp10`` command."""

import sys

from ._cli import main

sys.exit(main())
