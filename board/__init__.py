"""融通对接板: a matchmaking board for rail-transit technology demands."""

from __future__ import annotations

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
    app.config.update(config_mod.load(config))

    from . import auth, cli, errors, i18n, net, security, templating
    from .extensions import csrf, db, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(DATA_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    i18n.init_app(app)
    auth.init_app(app)
    security.init_app(app)
    templating.init_app(app)
    errors.init_app(app)
    cli.init_app(app)
    _register_blueprints(app)
    net.init_app(app)
    return app


def _register_blueprints(app: Flask) -> None:
    from werkzeug.routing import IntegerConverter

    class IdConverter(IntegerConverter):
        """<int:...> ids within the databases' 32-bit range; larger ones are simply not found."""

        def __init__(self, url_map, *args, **kwargs):
            kwargs.setdefault("max", 2**31 - 1)
            super().__init__(url_map, *args, **kwargs)

    app.url_map.converters["int"] = IdConverter
    from .views import account, admin, api, company, public, supplier, threads
    from .views import auth as auth_views

    app.register_blueprint(public.bp)
    app.register_blueprint(auth_views.bp)
    app.register_blueprint(company.bp)
    app.register_blueprint(supplier.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(threads.bp)
    app.register_blueprint(account.bp)
