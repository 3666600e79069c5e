"""Entry point for gunicorn: production settings unless BOARD_ENV says otherwise.

    gunicorn -c python:board.gunicorn_conf board.wsgi:app

In production the start runs the checks of ``flask --app board check`` and refuses to serve
while a blocking one fails (a weak SECRET_KEY, a database that does not answer or is behind
the migrations, an unwritable upload folder, debug or demo mode, an insecure cookie under
HTTPS); the others are logged as warnings.
"""

import logging
import os

from . import create_app

app = create_app({"BOARD_ENV": os.environ.get("BOARD_ENV", "production")})

# The lexicon and jieba's dictionary, loaded once here: with gunicorn's preload_app the
# workers fork with them in memory instead of loading them on their first request.
from .services.matcher import warm  # noqa: E402

warm(app)


class NotReady(SystemExit):
    """The production start found blocking problems (they are in the log)."""


def refuse_unfit_start(app) -> None:
    from . import health
    from .extensions import db

    log = logging.getLogger("board.check")
    problems = health.production_problems(app)
    with app.app_context():
        db.engine.dispose()  # no connection opened here is inherited by forked workers
    for problem in problems:
        (log.error if problem.blocking else log.warning)("check: %s", problem)
    blocking = [p for p in problems if p.blocking]
    if blocking:
        raise NotReady(
            f"Not serving: {len(blocking)} blocking problem(s); run flask --app board check"
        )


if app.config["BOARD_ENV"] == "production":
    refuse_unfit_start(app)
