"""Entry point for gunicorn: production settings unless BOARD_ENV says otherwise.

    gunicorn 'board.wsgi:app'
"""

import os

from . import create_app

app = create_app({"BOARD_ENV": os.environ.get("BOARD_ENV", "production")})
