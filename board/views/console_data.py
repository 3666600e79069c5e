"""Staff console: exports (Excel and CSV, headers in the user's language) and import from the
browser (preview, then confirm). Routes on the staff blueprint."""

from __future__ import annotations

import datetime as dt
import io

from flask import (
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.file import FileField
from sqlalchemy.exc import IntegrityError
from wtforms import HiddenField

from ..auth import commit
from ..extensions import db
from ..forms import REQUIRED, Form, length
from ..i18n import lang
from ..models import Job, OrgTag, Round
from ..services import audit, exporting, import_preview, importing, records, tables
from ..services.errors import Invalid
from . import form_status, int_arg, text_arg
from .admin import bp

MIMETYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}


# -- exports ---------------------------------------------------------------------------------
class FilterError(Exception):
    def __init__(self, name: str, message):
        super().__init__(str(message))
        self.name, self.message = name, message


def _date_arg(name: str) -> dt.date | None:
    raw = text_arg(name, 10)
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise FilterError(name, _l("Enter a date such as 2026-03-31.")) from None


def read_filters(table: tables.Table | None = None, names=None) -> tables.Filters:
    """The filters of the query string a kind takes (all of them when no kind is given);
    raises FilterError for a value that is not one the list offers."""
    names = set(names or (table.filters if table else tables.QUERY_NAMES))
    values: dict = {}
    if "round_id" in names and request.args.get("round"):
        round_id = int_arg("round")
        if round_id is None or db.session.get(Round, round_id) is None:
            raise FilterError("round", _l("There is no such collection round."))
        values["round_id"] = round_id
    if "status" in names and request.args.get("status"):
        status = text_arg("status", 30)
        if table is None or status not in tables.STATUSES.get(table.kind, ()):
            raise FilterError("status", _l("Choose a status from the list."))
        values["status"] = status
    for name, known in (("segment", lambda: {s.code for s in records.all_segments()}),
                        ("theme", lambda: {t.code for t in records.all_themes()}),
                        ("tag", lambda: {t.value for t in OrgTag})):
        if name in names and request.args.get(name):
            value = text_arg(name, 30)
            if value not in known():
                raise FilterError(name, _l("Choose a value from the list."))
            values[name] = value
    if "band" in names and request.args.get("band"):
        band = text_arg("band", 20)
        if band not in tables.MATCH_BANDS:
            raise FilterError("band", _l("Choose a value from the list."))
        values["band"] = band
    if "stage" in names and request.args.get("stage"):
        stage = text_arg("stage", 20)
        if stage not in tables.MATCH_STAGES:
            raise FilterError("stage", _l("Choose a value from the list."))
        values["stage"] = stage
    if "action" in names:
        values["action"] = text_arg("action", 40) or None
    if "actor" in names:
        values["actor"] = text_arg("actor", 254) or None
    if "q" in names:
        values["q"] = text_arg("q", 50) or None
    if "start" in names:
        values["start"] = _date_arg("from")
    if "end" in names:
        values["end"] = _date_arg("to")
    return tables.Filters(**values)


def export_args(filters: tables.Filters) -> dict:
    """Query-string arguments for a link to an export with these filters."""
    return {tables.QUERY_NAMES[k]: v for k, v in filters.given().items()}


@bp.app_template_global()
def export_url(kind: str, fmt: str = "xlsx", **filters) -> str:
    """A link to an export, with the list's filters (empty ones left out)."""
    args = {k: v for k, v in filters.items() if v not in (None, "")}
    return url_for("admin.export_file", kind=kind, format=fmt, **args)


def _exports_page(round_id: int | None = None, error: FilterError | None = None, status: int = 200):
    return render_template(
        "admin/exports.html",
        tables=list(tables.TABLES.values()),
        rounds=tables.rounds(),
        round_id=round_id,
        error=error,
        lang=lang(),
        formats=tables.FORMATS,
    ), status


@bp.get("/exports")
def exports():
    try:
        filters = read_filters(names=("round_id",))
    except FilterError as exc:
        return _exports_page(error=exc, status=422)
    return _exports_page(filters.round_id)


@bp.get("/exports/download")
def export_file():
    """One export, streamed as a dated attachment, recorded in the audit log."""
    table = tables.get(text_arg("kind", 30))
    fmt = text_arg("format", 10) or "xlsx"
    if table is None or fmt not in tables.FORMATS or not table.available():
        abort(404)
    try:
        filters = read_filters(table)
    except FilterError as exc:
        return _exports_page(error=exc, status=422)
    header, rows = table.build(filters, lang())
    audit.record(current_user, "export", None, after={
        "kind": table.kind, "format": fmt, "filters": filters.given(), "rows": len(rows),
        "lang": lang()})
    commit()
    name = tables.filename(table.kind, fmt, filters)
    if fmt == "csv":
        resp = Response(stream_with_context(exporting.iter_csv(header, rows)), mimetype=MIMETYPES["csv"])
        resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
        return resp
    # A workbook is a zip file: it is complete only once written, then sent in one piece.
    buf = io.BytesIO()
    exporting.write_xlsx(header, rows, buf, table.title(lang()))
    resp = Response(buf.getvalue(), mimetype=MIMETYPES["xlsx"])
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return resp


# -- import from the browser -----------------------------------------------------------------
class ImportForm(Form):
    file = FileField(
        _l("File"),
        description=_l("A .csv (UTF-8), .xlsx (first sheet) or .json file, at most %(n)s rows.",
                       n="5,000"),
    )


class ConfirmImportForm(Form):
    token = HiddenField(validators=[length(60)])
    digest = HiddenField(validators=[length(64)])
    plan = HiddenField(validators=[length(64)])
    name = HiddenField(validators=[length(200)])


def _import_page(form: ImportForm, status: int = 200):
    return render_template("admin/import.html", form=form, columns=(importing.REQUIRED, importing.OPTIONAL),
                           max_rows=import_preview.MAX_ROWS,
                           sync_max_rows=import_preview.sync_max_rows()), status


def _preview_page(plan: importing.Plan, name: str, token: str | None = None, digest: str = "",
                  status: int = 200):
    form = ConfirmImportForm(formdata=None)
    if token and not plan.bad:
        form.token.data, form.digest.data, form.name.data = token, digest, name
        form.plan.data = import_preview.fingerprint(plan)
    return render_template("admin/import_preview.html", plan=plan, name=name, form=form,
                           shown=PREVIEW_ROWS, can_confirm=bool(token and not plan.bad)), status


#: Rows of a plan listed on the preview (every bad row is always listed).
PREVIEW_ROWS = 500


def _file_problems(form: ImportForm, exc: importing.ImportFailed) -> None:
    form.file.errors = list(form.file.errors) + [
        (_("Row %(n)s: %(reason)s", n=p.row, reason=p.reason) if p.row is not None else str(p.reason))
        for p in exc.problems
    ]


@bp.route("/import", methods=["GET", "POST"])
def import_upload():
    form = ImportForm()
    if request.method == "GET":
        return _import_page(form)
    if not form.validate_on_submit():
        return _import_page(form, form_status(form))
    storage = form.file.data
    if storage is None or not getattr(storage, "filename", ""):
        form.file.errors = [REQUIRED]
        return _import_page(form, 422)
    try:
        staged = import_preview.stage(storage)
    except Invalid as exc:
        form.file.errors = [str(exc.message)]
        return _import_page(form, 422)
    try:
        plan = import_preview.plan(staged.token)
    except importing.ImportFailed as exc:
        import_preview.discard(staged.token)
        _file_problems(form, exc)
        return _import_page(form, 422)
    if plan.bad:
        import_preview.discard(staged.token)  # nothing can be confirmed from it
        return _preview_page(plan, staged.name, status=422)
    return _preview_page(plan, staged.name, staged.token, staged.digest)


@bp.post("/import/confirm")
def import_confirm():
    form = ConfirmImportForm()
    upload = ImportForm(formdata=None)
    if not form.validate_on_submit() or not (form.token.data and form.digest.data and form.plan.data):
        upload.file.errors = [_("This preview is no longer valid: upload the file again.")]
        return _import_page(upload, 422)
    token, name = form.token.data, form.name.data or "upload"
    try:
        claimed = import_preview.claim(token, form.digest.data)
    except Invalid as exc:
        upload.file.errors = [str(exc.message)]
        return _import_page(upload, 422)
    try:
        result = import_preview.confirm_or_queue(current_user, claimed, form.plan.data, name)
        commit()
    except import_preview.PlanChanged as exc:
        db.session.rollback()
        import_preview.release(claimed, token)
        flash(_("The board changed since the preview (another import or edit): check the new "
                "preview and confirm again."), "error")
        return _preview_page(exc.plan, name, token, form.digest.data, status=409)
    except (Invalid, importing.ImportFailed) as exc:
        db.session.rollback()
        import_preview.discard(claimed)
        if isinstance(exc, Invalid):
            upload.file.errors = [str(exc.message)]
        else:
            _file_problems(upload, exc)
        return _import_page(upload, 422)
    except IntegrityError:
        db.session.rollback()
        import_preview.release(claimed, token)
        upload.file.errors = [_("The board changed while importing; nothing was imported. "
                                "Upload the file again to see a new preview.")]
        return _import_page(upload, 409)
    except Exception:
        db.session.rollback()
        import_preview.release(claimed, token)
        raise
    if isinstance(result, Job):  # a large file: its job imports it and removes it
        flash(_("The import of %(name)s (%(n)s rows) is queued as job %(id)s: follow it here.",
                name=name, n=result.params.get("rows"), id=result.id), "success")
        return redirect(url_for("admin.jobs", _anchor=f"job-{result.id}"))
    import_preview.discard(claimed)
    flash(_("Imported %(name)s: %(created)s created, %(updated)s updated; matches refreshed.",
            name=name, created=result.created, updated=result.updated), "success")
    return redirect(url_for("admin.import_upload"))
