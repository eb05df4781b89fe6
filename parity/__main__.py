import sys

from parity.cli.main import main

sys.exit(main())
