"""Screenshots of the seeded board for the README: python -m tests.browser.screenshots DIR"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from board import create_app
from board.extensions import db
from board.services import matches, seeding
from tests.browser.server import chromium, serve


def seeded_app(db_path: Path):
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}",
            "BOARD_ENV": "demo",
            "BOARD_DEMO": True,
        }
    )
    with app.app_context():
        db.create_all()
        seeding.load_taxonomy()
        seeding.load_event()
        seeding.load_demo_accounts()
        matches.rematch_all()
        db.session.commit()
    return app


def sign_in(page, base, email, password):
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("form.form button")
    page.wait_for_load_state()


def main(out: str, extra: bool = False) -> None:
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        app = seeded_app(Path(tmp) / "board.sqlite3")
        with serve(app) as base, chromium() as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
            page.goto(base + "/")
            page.screenshot(path=str(out_dir / "board.png"), full_page=True)
            sign_in(page, base, "company@demo.example", "demo-company")
            with app.app_context():
                import sqlalchemy as sa

                from board.models import Demand

                d_id = db.session.scalar(sa.select(Demand.id).where(Demand.ref == "EVT2023-D-CONTROL"))
            page.goto(f"{base}/company/demands/{d_id}")
            page.screenshot(path=str(out_dir / "demand-matches.png"), full_page=True)
            if extra:
                page.goto(base + "/event")
                page.screenshot(path=str(out_dir / "event.png"), full_page=True)
                phone = browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN")
                phone.goto(base + "/")
                phone.screenshot(path=str(out_dir / "board-390.png"), full_page=True)
                en = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-US")
                en.goto(base + "/")
                en.screenshot(path=str(out_dir / "board-en.png"), full_page=True)
    print(f"screenshots written to {out_dir}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots", extra="--all" in sys.argv)
