import sys

from imuform.cli.main import main

sys.exit(main())
