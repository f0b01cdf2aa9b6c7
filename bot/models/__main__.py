"""``python -m bot.models prepare|verify``: the embedding model (``bot.models.embedding``)."""

import sys

from bot.models.embedding import main

sys.exit(main())
