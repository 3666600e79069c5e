"""Flask commands: flask --app board <command>."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from .extensions import db


def init_app(app: Flask) -> None:
    for cmd in (
        init_db,
        create_staff,
        set_active,
        rematch,
        import_records,
        export_matches,
        export_table,
        eval_matching,
        lexicon_check,
        send_mail,
        bench,
        worker,
        bench_http,
        backup,
        restore,
        check,
    ):
        app.cli.add_command(cmd)


def upgrade_schema() -> None:
    """Create or upgrade the schema through the committed migrations."""
    from flask_migrate import upgrade

    Path(current_app.instance_path).mkdir(parents=True, exist_ok=True)
    Path(current_app.config["UPLOAD_DIR"]).mkdir(parents=True, exist_ok=True)
    upgrade()


@click.command("init-db")
@click.option("--seed/--no-seed", default=True, help="Load the event's data when it is missing.")
@with_appcontext
def init_db(seed: bool) -> None:
    """Create or upgrade the database; load the taxonomy and (by default) the event's seed."""
    from .services import matches, seeding

    upgrade_schema()
    added = seeding.load_taxonomy()
    loaded = None
    if seed and not seeding.has_event_data():
        loaded = seeding.load_event()
    elif seed:
        seeding.load_profiles()  # directory profiles a database made before them lacks
    demo = seeding.load_demo_accounts() if current_app.config["BOARD_DEMO"] else []
    removed = 0 if demo else seeding.remove_demo_accounts()
    if loaded or added or matches.stale():  # new data, or a lexicon changed since
        matches.rematch_all()
    db.session.commit()
    if loaded:
        click.echo(
            "Seeded the event: {organizations} organisations, {demands} demands, "
            "{capabilities} capabilities, {outcomes} outcomes.".format(**loaded)
        )
    elif seed:
        click.echo("Event data already present; nothing loaded twice.")
    if removed:
        click.echo(f"Demo mode is off: removed {removed} demo accounts.")
    click.echo("Database ready.")
    for acc in demo:
        click.echo(f"  demo {acc['role']:<9} {acc['email']:<22} password: {acc['password']}")


@click.command("create-staff")
@click.argument("email")
@click.option("--name", default=None, help="Display name (default: the part before @).")
@click.password_option(
    "--password", envvar="BOARD_STAFF_PASSWORD", help="Asked for when not given."
)
@with_appcontext
def create_staff(email: str, name: str | None, password: str) -> None:
    """Create a park staff account."""
    from flask_babel import force_locale

    from .models import Role
    from .services import accounts
    from .services.errors import Invalid

    # Outside a request the locale selector has nothing to read: messages are in English.
    with force_locale("en"):
        try:
            accounts.create_user(
                email=email, password=password, role=Role.STAFF,
                display_name=name or email.strip().split("@")[0],
            )
        except Invalid as exc:
            db.session.rollback()
            raise click.ClickException(str(exc.message)) from exc
    db.session.commit()
    click.echo(f"Staff account created: {accounts.normalise_email(email)}")


@click.command("set-active")
@click.argument("email")
@click.option("--disable/--enable", default=True)
@with_appcontext
def set_active(email: str, disable: bool) -> None:
    """Disable an account (ending all its sessions) or enable it again."""
    from .services import accounts

    user = accounts.find_user(email)
    if user is None:
        raise click.ClickException(f"No account with e-mail {email}")
    accounts.set_active(user, not disable)
    db.session.commit()
    click.echo(f"{user.email}: {'disabled, sessions ended' if disable else 'enabled'}")


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup(path: Path) -> None:
    """Copy the database to PATH while the board runs (SQLite); print the pg_dump command
    for PostgreSQL."""
    from .services import backup as bk

    try:
        source = bk.sqlite_path(db.engine.url)
        if source is None:
            dump, _restore = bk.pg_commands(path)
            click.echo("PostgreSQL: back up with its own tool (password from PGPASSWORD or "
                       "~/.pgpass):")
            click.echo(dump)
            return
        pages = bk.backup_sqlite(source, path)
    except bk.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Backed up {source} to {path} ({pages} pages).")


@click.command("restore")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask before replacing the database.")
@with_appcontext
def restore(path: Path, yes: bool) -> None:
    """Replace the database with the copy in PATH (SQLite; stop the board first). For
    PostgreSQL, print the pg_restore command."""
    from .services import backup as bk

    try:
        target = bk.sqlite_path(db.engine.url)
        if target is None:
            _dump, command = bk.pg_commands(path)
            click.echo("PostgreSQL: restore with its own tool (stop the board first):")
            click.echo(command)
            return
        bk.check_copy(path)
        if not yes:
            click.confirm(f"Replace everything in {target} with {path}?", abort=True)
        bk.restore_sqlite(path, target)
    except bk.BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Restored {target} from {path}.")


@click.command("rematch")
@click.option("--rebuild-index", is_flag=True,
              help="Rewrite every record's index keys (by default only those analysed again).")
@with_appcontext
def rematch(rebuild_index: bool) -> None:
    """Rebuild the index and every demand's matches (analyses made with another lexicon are redone)."""
    from .services import matches

    def progress(items):
        with click.progressbar(items, label="Matching", file=sys.stderr) as bar:
            yield from bar

    result = matches.rematch_all(progress, rebuild_keys=True if rebuild_index else None)
    db.session.commit()
    click.echo(f"Rematched {result['demands']} demands against {result['capabilities']} capabilities"
               f" ({result['processes']} process{'es' if result['processes'] > 1 else ''}).")


@click.command("import")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--background", is_flag=True,
              help="Check the file now, import it as a background job (see /admin/jobs).")
@with_appcontext
def import_records(path: Path, background: bool) -> None:
    """Import demands and capabilities from .csv, .xlsx or .json (all rows or none)."""
    from .services import importing

    if background:
        import shutil
        import uuid

        from .services import jobs

        try:
            importing.parse(path)  # every row checked before anything is queued
        except importing.ImportFailed as exc:
            click.echo(f"Nothing was queued from {path}:", err=True)
            for problem in exc.problems:
                click.echo(f"  {problem}", err=True)
            sys.exit(1)
        folder = Path(current_app.instance_path) / "imports"
        folder.mkdir(parents=True, exist_ok=True)
        copy = folder / f"{uuid.uuid4().hex}{path.suffix.lower()}"
        shutil.copyfile(path, copy)
        job = jobs.enqueue("import", {"path": str(copy), "remove": True})
        db.session.commit()
        click.echo(f"Queued the import of {path} as job {job.id} (see /admin/jobs).")
        return
    try:
        result = importing.import_file(path)
    except importing.ImportFailed as exc:
        db.session.rollback()
        click.echo(f"Nothing was imported from {path}:", err=True)
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(
        f"Imported {path}: {result.created} created, {result.updated} updated "
        f"({result.demands} demands, {result.capabilities} capabilities); matches refreshed."
    )


@click.command("export-matches")
@click.option("--format", "fmt", type=click.Choice(["json", "csv", "xlsx"]), default="json")
@click.option("--top", "top", type=click.IntRange(min=1), default=10, show_default=True)
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None)
@with_appcontext
def export_matches(fmt: str, top: int, output: Path | None) -> None:
    """Write every published demand with its top matches, best first."""
    from .services import exporting

    if fmt == "xlsx" and output is None:
        raise click.UsageError("--format xlsx needs --output PATH")
    data = exporting.collect(top)
    if output is None:
        sys.stdout.write(exporting.render_text(data, fmt))
        return
    exporting.write(data, fmt, output)
    click.echo(f"Wrote {len(data)} demands to {output}", err=True)


@click.command("eval-matching")
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def eval_matching(paths: tuple[Path, ...]) -> None:
    """Ranking quality on one or more labelled sets (for example a tuning and a held-out
    split): the engine against a plain rapidfuzz baseline, set by set, then a summary."""
    from sqlalchemy.exc import SQLAlchemyError

    from .matching import Engine, evaluate
    from .services import bands
    from .services.matcher import get_engine

    sets = []
    for path in paths:
        try:
            sets.append((path, evaluate.load(path)))
        except (ValueError, KeyError, TypeError) as exc:
            raise click.ClickException(f"{path} is not an evaluation set: {exc}") from exc
    try:
        engine = get_engine()  # the lexicon file plus staff additions
    except SQLAlchemyError:
        db.session.rollback()
        engine = Engine.from_files(current_app.config["LEXICON_PATH"])
        click.echo("(no database yet: using the lexicon file alone)", err=True)
    rule = bands.settings()
    summary = []
    for path, evalset in sets:
        engine_result, baseline = evaluate.run(engine, evalset, rule)
        click.echo(
            f"{path.name}: {len(evalset.demands)} demands, {len(evalset.capabilities)} capabilities "
            f"(lexicon: {len(engine.lexicon.concepts)} concepts)"
        )
        click.echo(engine_result.row())
        click.echo(baseline.row())
        click.echo(f"difference in nDCG@5: {engine_result.ndcg5 - baseline.ndcg5:+.3f}")
        summary.append((path.name, len(evalset.demands), engine_result))
    if len(summary) > 1:
        click.echo("")
        click.echo(f"{'set':<32} {'demands':>7} {'nDCG@5':>7} {'P@3':>6} {'dist.top3':>9} "
                   f"{'recall@5':>8} {'miss@10':>7} {'dist.>weak':>10}")
        for name, n, r in summary:
            above = "n/a" if r.distractors_floor is None else str(r.distractors_floor)
            click.echo(f"{name:<32} {n:>7} {r.ndcg5:>7.3f} {r.precision3:>6.3f} {r.distractors_top3:>9} "
                       f"{r.strong_recall5:>8.3f} {r.strong_missing10:>7} {above:>10}")


@click.command("lexicon-check")
@click.argument("path", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def lexicon_check(path: Path | None) -> None:
    """Check a lexicon file (default: the board's): duplicate terms, terms in two concepts,
    concepts without a Chinese or an English term, broader cycles and missing broader
    concepts, compounds without heads. Exits 1 when there is any problem."""
    from .matching.lexicon_check import check_file, render

    report = check_file(path or current_app.config["LEXICON_PATH"])
    click.echo(render(report))
    if not report.ok:
        sys.exit(1)


@click.command("bench")
@click.option("--capabilities", "n", type=click.IntRange(min=10), default=100_000, show_default=True)
@click.option("--demands", "m", type=click.IntRange(min=5), default=10_000, show_default=True)
@click.option("--repeats", type=click.IntRange(min=3), default=20, show_default=True,
              help="How many times each timed measurement runs (median and p95 over them).")
@click.option("--quick", is_flag=True, help="A hundredth of the sizes (for CI: checks it runs).")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.option("--seed", type=int, default=20261201, show_default=True)
def bench(n: int, m: int, repeats: int, quick: bool, as_json: bool, seed: int) -> None:
    """Measure matching, imports, the rematch and search on synthetic data in a temporary
    database (the board's own database is not touched); print each figure beside its target."""
    import json

    from .services import bench as bench_service

    if quick:
        n, m, repeats = max(10, n // 100), max(5, m // 100), min(repeats, 5)
    report = bench_service.run(n, m, repeats, seed, progress=not as_json)
    if as_json:
        click.echo(json.dumps(report.as_json(), indent=2, ensure_ascii=False))
    else:
        click.echo(f"{n:,} capabilities, {m:,} demands, {repeats} repeats")
        click.echo(report.table())


@click.command("bench-http")
@click.option("--capabilities", "n", type=click.IntRange(min=10), default=10_000, show_default=True)
@click.option("--demands", "m", type=click.IntRange(min=5), default=1_000, show_default=True)
@click.option("--clients", type=click.IntRange(1, 256), default=32, show_default=True)
@click.option("--seconds", type=click.FloatRange(1, 120), default=10.0, show_default=True,
              help="How long each page is driven.")
@click.option("--workers", type=click.IntRange(1, 32), default=None,
              help="gunicorn workers (default: board/gunicorn_conf.py's).")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def bench_http(n: int, m: int, clients: int, seconds: float, workers: int | None,
               as_json: bool) -> None:
    """Serve a benchmark database with gunicorn on a free loopback port and drive the busiest
    pages with concurrent clients; report requests/s, p50 and p99 beside the health endpoint."""
    import json

    from .services import bench_http as service

    report = service.run(n, m, clients, seconds, workers, progress=not as_json)
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
    else:
        click.echo(f"{n:,} capabilities, {m:,} demands, {clients} clients, {seconds:g} s per page")
        click.echo(service.table(report))


@click.command("worker")
@click.option("--burst", is_flag=True, help="Run the queued jobs, then stop.")
@with_appcontext
def worker(burst: bool) -> None:
    """Run background jobs (rematches, imports, mail): from Redis through RQ when REDIS_URL is
    set, else from the job table."""
    from .services import jobs

    if jobs.mode(current_app) == "rq":
        from rq import SimpleWorker

        from .services.matcher import get_engine

        get_engine()  # the lexicon and jieba's dictionary, loaded once for every job
        w = SimpleWorker([jobs.queue_name(current_app)],
                         connection=jobs.redis_connection(current_app))
        w.work(burst=burst)
        return
    ran = jobs.work(burst=burst)
    click.echo(f"Ran {ran} job(s).")


@click.command("send-mail")
@with_appcontext
def send_mail() -> None:
    """Write due reminders and daily digests, then send the queued e-mail (run it from a timer)."""
    from .services import mailer

    click.echo(mailer.summary(mailer.run()))


@click.command("export")
@click.argument("kind")
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv"]), default="xlsx", show_default=True)
@click.option("--round", "round_id", type=click.IntRange(min=1), default=None,
              help="Only this collection round (the kinds that have rounds).")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="Language of the header row and of labels.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@with_appcontext
def export_table(kind: str, fmt: str, round_id: int | None, lang: str, output: Path) -> None:
    """Write one kind of record as a spreadsheet: demands, capabilities, matches, replies,
    outcomes, map, gaps, strengths, audit or organizations."""
    from .models import Round
    from .services import exporting, tables

    table = tables.get(kind)
    if table is None:
        raise click.BadParameter(f"choose one of: {', '.join(tables.TABLES)}", param_hint="KIND")
    if not table.available():
        raise click.ClickException(f"{kind} needs board/services/{table.needs}.py, which is not installed")
    if round_id is not None:
        if "round_id" not in table.filters:
            raise click.UsageError(f"{kind} is not filtered by round: leave out --round")
        if db.session.get(Round, round_id) is None:
            raise click.ClickException(f"No collection round with id {round_id}")
    header, rows = table.build(tables.Filters(round_id=round_id), lang)
    output.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        exporting.write_csv(header, rows, output)
    else:
        exporting.write_xlsx(header, rows, output, table.title(lang))
    click.echo(f"Wrote {len(rows)} rows ({kind}) to {output}", err=True)


@click.command("check")
@with_appcontext
def check() -> None:
    """Production readiness: one line per problem; exit 1 when there is any."""
    from . import health

    problems = health.production_problems(current_app._get_current_object())
    for problem in problems:
        click.echo(f"problem: {problem}", err=True)
    if problems:
        click.echo(f"{len(problems)} problem(s): not ready for production.", err=True)
        sys.exit(1)
    click.echo("Ready for production: no problem found.")
