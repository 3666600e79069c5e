"""Measurements at scale (not tests: nothing here asserts a time).

    python -m tests.bench.scale index 100000        # one demand's ranking: index vs scoring all
    python -m tests.bench.scale file 10000 500 rows.json   # a generated import file

Texts are drawn from the lexicon's specific concepts plus generic words, one in four in
English; the random seed is fixed so runs compare."""

from __future__ import annotations

import json
import random
import statistics
import sys
import time

from board.config import PROJECT_ROOT
from board.matching import Doc, Engine, Lexicon

GENERIC = ["智能", "平台", "系统", "技术", "服务", "solution", "platform"]


class Texts:
    def __init__(self, lexicon: Lexicon, seed: int = 7):
        self.rng = random.Random(seed)
        self.concepts = [c for c in lexicon.concepts.values() if lexicon.weights[c.id] >= 0.3]

    def text(self, n: int, english: bool = False) -> str:
        parts = [self.rng.choice(c.en if english else c.zh) for c in self.rng.sample(self.concepts, n)]
        parts += self.rng.sample(GENERIC, 2)
        return (", " if english else "，").join(parts)


def index(n: int, queries: int = 20) -> None:
    lexicon = Lexicon.load(PROJECT_ROOT / "seed" / "lexicon.tsv")
    engine, texts = Engine(lexicon), Texts(lexicon)
    started = time.perf_counter()
    idx = engine.new_index()
    for i in range(n):
        en = i % 4 == 0
        idx.add(i, engine.analyze(Doc(i, texts.text(2, en), texts.text(6, en), (texts.text(1, en),))))
    print(f"analysed and indexed {n} capabilities in {time.perf_counter() - started:.0f} s")
    fast, full, recall = [], [], []
    for j in range(queries):
        q = engine.analyze(Doc(f"q{j}", texts.text(2), texts.text(5)))
        t = time.perf_counter()
        a = engine.search(q, idx, 10)
        fast.append(time.perf_counter() - t)
        t = time.perf_counter()
        b = engine.search(q, idx, 10, exhaustive=True)
        full.append(time.perf_counter() - t)
        want = {r.id for r in b}
        recall.append(len({r.id for r in a} & want) / max(1, len(want)))
    print(
        f"one demand, top 10 (median of {queries}): index {statistics.median(fast) * 1000:.1f} ms, "
        f"all pairs {statistics.median(full) * 1000:.0f} ms; recall@10 {statistics.mean(recall):.3f}"
    )


def import_file(capabilities: int, demands: int, path: str) -> None:
    lexicon = Lexicon.load(PROJECT_ROOT / "seed" / "lexicon.tsv")
    texts = Texts(lexicon, seed=3)
    rows = []
    for i in range(capabilities):
        en = i % 4 == 0
        rows.append({"kind": "capability", "ref": f"GC{i}", "organization": f"Org {i % 800}",
                     "title": texts.text(2, en), "description": texts.text(6, en),
                     "keywords": texts.text(2, en)})
    for i in range(demands):
        rows.append({"kind": "demand", "ref": f"GD{i}", "organization": f"Poster {i % 50}",
                     "title": texts.text(2), "description": texts.text(5)})
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(rows, fh, ensure_ascii=False)
    print(f"wrote {len(rows)} rows to {path}")


if __name__ == "__main__":
    cmd, *args = sys.argv[1:] or ["index", "20000"]
    if cmd == "index":
        index(int(args[0]))
    elif cmd == "file":
        import_file(int(args[0]), int(args[1]), args[2])
    else:
        sys.exit(__doc__)
