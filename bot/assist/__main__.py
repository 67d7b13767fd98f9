import sys

from bot.assist.app import main

sys.exit(main())
