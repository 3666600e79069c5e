"""Build hook: compile the translation catalogs (.po -> .mo) into every sdist and wheel.

The .mo files are not in git, so a build must not depend on `make` having compiled them
in the checkout first; metadata and the package layout live in pyproject.toml."""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

ROOT = Path(__file__).resolve().parent
CATALOGS = Path("board", "translations")


def compile_catalogs(dest_root: Path) -> list[str]:
    """Compile every board/translations/*/LC_MESSAGES/*.po under dest_root; returns the .mo paths."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    written = []
    for po in sorted((ROOT / CATALOGS).glob("*/LC_MESSAGES/*.po")):
        mo = dest_root / po.relative_to(ROOT).with_suffix(".mo")
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=po.parent.parent.name)
        mo.parent.mkdir(parents=True, exist_ok=True)
        mo.unlink(missing_ok=True)  # the sdist tree hard-links source files: never write through
        with mo.open("wb") as fh:
            write_mo(fh, catalog, use_fuzzy=True)  # as `make translations` does
        written.append(str(mo))
    return written


class BuildPy(build_py):
    def run(self):
        super().run()
        # An editable install reads the checkout, where `make` compiles the catalogs.
        self._catalogs = [] if self.editable_mode else compile_catalogs(Path(self.build_lib))

    def get_outputs(self, include_bytecode=True):
        return super().get_outputs(include_bytecode) + getattr(self, "_catalogs", [])


class Sdist(sdist):
    def make_release_tree(self, base_dir, files):
        super().make_release_tree(base_dir, files)
        compile_catalogs(Path(base_dir))


setup(cmdclass={"build_py": BuildPy, "sdist": Sdist})
