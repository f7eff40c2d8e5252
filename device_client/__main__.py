"""Entry point: python -m device_client ... (see device_client/cli.py)."""

import sys

from device_client.cli import main

sys.exit(main())
