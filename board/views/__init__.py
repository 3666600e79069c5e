"""Thin views, one blueprint per audience."""

from __future__ import annotations

from flask import flash, redirect, request, url_for

from ..auth import is_safe_next
from ..services.errors import Invalid
from ..services.records import clean_text

#: Largest id or page number accepted from a URL (the databases' 32-bit integers).
MAX_INT = 2**31 - 1


def form_data(form) -> dict:
    return {name: field.data for name, field in form._fields.items() if name != "csrf_token"}


def show_invalid(form, exc: Invalid) -> None:
    """Put a service's rule violation next to its field, or at the top of the form."""
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None:
        field.errors = list(field.errors) + [str(exc.message)]
    else:
        form.form_errors.append(str(exc.message))


def back(default_endpoint: str, **values):
    target = request.form.get("next") or request.args.get("next")
    if is_safe_next(target):
        return redirect(target)
    return redirect(url_for(default_endpoint, **values))


def flash_invalid(exc: Invalid) -> None:
    flash(str(exc.message), "error")


def attempt(action, message: str) -> bool:
    """Run a service action for a button: commit and say ``message``, or roll back and say
    which rule it broke."""
    from ..auth import commit
    from ..extensions import db

    try:
        action()
    except Invalid as exc:
        db.session.rollback()
        flash_invalid(exc)
        return False
    commit()
    flash(message, "success")
    return True


def form_status(form) -> int:
    """422 when a submitted form is shown again with errors, else 200."""
    if request.method == "POST" and (form.errors or form.form_errors):
        return 422
    return 200


def text_arg(name: str, max_len: int = 100) -> str:
    """A query-string argument as clean, bounded text."""
    return clean_text(request.args.get(name) or "").strip()[:max_len]


def int_arg(name: str, default: int | None = None) -> int | None:
    """A positive query-string integer; anything else gives the default."""
    raw = request.args.get(name) or ""
    if raw.isascii() and raw.isdigit() and 0 < int(raw) <= MAX_INT:
        return int(raw)
    return default
