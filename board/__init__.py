"""融通对接板: a matchmaking board for rail-transit technology demands."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from . import config as config_mod
from .config import DATA_ROOT

if TYPE_CHECKING:
    from flask import Flask


def create_app(config: dict | None = None) -> Flask:
    """Build the app. No I/O beyond reading settings; no database work.

    Flask is imported here so that ``board.matching`` can be used without it."""
    from flask import Flask

    app = Flask(
        __name__,
        instance_path=str(config_mod.INSTANCE_DIR),
        template_folder=str(DATA_ROOT / "templates"),
        static_folder=str(DATA_ROOT / "static"),
    )
    app.config.update(_load_settings(config))

    from . import auth, cli, errors, i18n, logs, metrics, net, security, templating
    from .extensions import csrf, db, migrate

    logs.init_app(app)
    metrics.init_app(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(DATA_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    i18n.init_app(app)
    auth.init_app(app)
    security.init_app(app)
    templating.init_app(app)
    errors.init_app(app)
    cli.init_app(app)
    from .services import jobs

    jobs.init_app(app)
    _register_blueprints(app)
    net.init_app(app)
    return app


def _running_check() -> bool:
    """True in ``flask --app board check``."""
    from pathlib import Path

    args = sys.argv[1:]
    return "check" in args and Path(sys.argv[0]).name in ("flask", "__main__.py")


def _load_settings(config: dict | None) -> dict:
    """The settings. Under ``flask check`` a setting the board refuses (a weak SECRET_KEY in
    production, say) becomes one of the problems it reports instead of stopping it."""
    try:
        return config_mod.load(config)
    except config_mod.ConfigError as exc:
        if not _running_check():
            raise
        try:
            settings = config_mod.load(dict(config or {}, BOARD_ENV="development"))
        except config_mod.ConfigError as other:  # a bad setting in any environment
            lines = [f"problem: {e}" for e in dict.fromkeys((str(exc), str(other)))]
            raise SystemExit("\n".join(
                [*lines, f"{len(lines)} problem(s): not ready for production."])) from None
        settings["BOARD_ENV"] = (config or {}).get("BOARD_ENV") or os.environ.get(
            "BOARD_ENV", "development")
        settings["CONFIG_ERRORS"] = [str(exc)]
        return settings


def _register_blueprints(app: Flask) -> None:
    from werkzeug.routing import IntegerConverter

    class IdConverter(IntegerConverter):
        """<int:...> ids within the databases' 32-bit range; larger ones are simply not found."""

        def __init__(self, url_map, *args, **kwargs):
            kwargs.setdefault("max", 2**31 - 1)
            super().__init__(url_map, *args, **kwargs)

    app.url_map.converters["int"] = IdConverter
    from .views import account, admin, api, company, directory, ops, public, supplier, threads
    from .views import auth as auth_views

    app.register_blueprint(public.bp)
    app.register_blueprint(auth_views.bp)
    app.register_blueprint(company.bp)
    app.register_blueprint(supplier.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(threads.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(directory.bp)
    app.register_blueprint(ops.bp)
    ops.init_app(app)
