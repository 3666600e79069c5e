import pytest

from board.config import PROJECT_ROOT
from board.matching import Engine, Lexicon

LEXICON = PROJECT_ROOT / "seed" / "lexicon.tsv"


@pytest.fixture(scope="session")
def lexicon() -> Lexicon:
    return Lexicon.load(LEXICON)


@pytest.fixture(scope="session")
def engine(lexicon) -> Engine:
    return Engine(lexicon)
