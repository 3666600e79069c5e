"""Which proxy headers to believe: only those sent by an address in ``TRUSTED_PROXIES``.

``TRUSTED_PROXIES`` is a comma-separated list of addresses or networks (``10.0.0.5``,
``10.0.0.0/24``, ``::1``). A request whose peer is one of them has its ``X-Forwarded-For``,
``-Proto`` and ``-Host`` applied (one hop, as Werkzeug's ProxyFix does) and is marked in the
WSGI environ under ``VIA_PROXY``; from any other peer those headers are dropped, so neither
the client address nor the scheme can be forged. Code that reads other proxy-supplied headers
(a request id, say) asks :func:`via_trusted_proxy` first.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from werkzeug.middleware.proxy_fix import ProxyFix

VIA_PROXY = "board.via_trusted_proxy"
_FORWARDED = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_HOST",
              "HTTP_X_FORWARDED_PORT", "HTTP_X_FORWARDED_PREFIX", "HTTP_FORWARDED")


def parse_networks(value: str | Iterable[str] | None) -> tuple:
    """Parse the setting; raises ValueError naming the first entry that is not an address."""
    if not value:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    nets = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        try:
            nets.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ValueError(f"TRUSTED_PROXIES: {item!r} is not an address or network") from exc
    return tuple(nets)


def is_trusted(addr: str | None, networks: tuple) -> bool:
    if not addr or not networks:
        return False
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return any(ip in net for net in networks)


class TrustedProxyMiddleware:
    def __init__(self, wsgi_app, networks: tuple):
        self.networks = networks
        self.inner = wsgi_app
        self.fixed = ProxyFix(wsgi_app, x_for=1, x_proto=1, x_host=1, x_port=1, x_prefix=1)

    def __call__(self, environ, start_response):
        if is_trusted(environ.get("REMOTE_ADDR"), self.networks):
            environ[VIA_PROXY] = True
            return self.fixed(environ, start_response)
        environ[VIA_PROXY] = False
        for key in _FORWARDED:
            environ.pop(key, None)
        return self.inner(environ, start_response)


def init_app(app) -> None:
    app.wsgi_app = TrustedProxyMiddleware(app.wsgi_app, app.config["TRUSTED_PROXIES"])


def via_trusted_proxy(request) -> bool:
    """True when the request reached the board through a proxy in TRUSTED_PROXIES."""
    return bool(request.environ.get(VIA_PROXY))


def client_address(request) -> str:
    """The client's address: the proxy's X-Forwarded-For when trusted, else the peer."""
    return request.remote_addr or ""
