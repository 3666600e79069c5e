"""Proxy headers are believed only from TRUSTED_PROXIES."""

import pytest

from board import create_app
from board.config import ConfigError


def _app(trusted):
    app = create_app({"TESTING": True, "TRUSTED_PROXIES": trusted,
                      "SQLALCHEMY_DATABASE_URI": "sqlite://"})

    @app.get("/_peer")
    def peer():
        from flask import request

        from board import net
        return f"{net.client_address(request)} {request.scheme} {net.via_trusted_proxy(request)}"

    return app


HEADERS = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}


def test_forwarded_headers_ignored_from_an_untrusted_peer():
    client = _app("").test_client()
    body = client.get("/_peer", headers=HEADERS, environ_base={"REMOTE_ADDR": "127.0.0.1"}).text
    assert body == "127.0.0.1 http False"


def test_forwarded_headers_applied_from_a_trusted_proxy():
    client = _app("10.0.0.0/24, ::1").test_client()
    body = client.get("/_peer", headers=HEADERS, environ_base={"REMOTE_ADDR": "10.0.0.7"}).text
    assert body == "203.0.113.9 https True"
    other = client.get("/_peer", headers=HEADERS, environ_base={"REMOTE_ADDR": "10.0.1.7"}).text
    assert other == "10.0.1.7 http False"


def test_a_bad_trusted_proxy_setting_is_refused_by_name():
    with pytest.raises(ConfigError, match="nonsense"):
        create_app({"TESTING": True, "TRUSTED_PROXIES": "10.0.0.1,nonsense"})
