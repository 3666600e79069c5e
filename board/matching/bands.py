"""Strength bands: a match is strong, possible or weak by its score against an absolute floor
and against the best score of its demand. The one rule every page, the review queue and the
evaluation use; the thresholds are settings (see ``board.config``)."""

from __future__ import annotations

from dataclasses import dataclass

BANDS = ("strong", "possible", "weak")


@dataclass(frozen=True)
class Bands:
    floor: float = 35.0  # below it a match is weak (MATCH_REVIEW_FLOOR)
    strong: float = 60.0  # from it a match may be strong (MATCH_STRONG)
    weak_share: float = 0.5  # below this share of the demand's best: weak (MATCH_WEAK_SHARE)
    strong_share: float = 0.75  # strong needs this share of the demand's best (MATCH_STRONG_SHARE)

    def band(self, score: float | None, best: float | None = None) -> str:
        """The band of a match scoring ``score`` for a demand whose best match scores ``best``
        (the match itself when ``best`` is missing or lower)."""
        if score is None:
            return "weak"
        top = max(score, best or 0.0)
        if score < self.floor or score < self.weak_share * top:
            return "weak"
        if score >= self.strong and score >= self.strong_share * top:
            return "strong"
        return "possible"


DEFAULT = Bands()
