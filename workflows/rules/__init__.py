"""Framework-free rules of the linkage processes: Art. 278 votes, scoring, legal periods.

Kept free of Flask and SQLAlchemy so that forms, handlers, reports and tests can all call the
same exact arithmetic and the same configured periods.
"""

from workflows.rules.evaluation import (
    DEFAULT_GRADE_BANDS, DEFAULT_STAR_BANDS, DEFAULT_WEIGHTS, GradeConsequence, ProjectEvaluation,
    credit_grade, evaluate_project, grade_consequence, quality_below_price, score_project,
    star_level,
)
from workflows.rules.owner_vote import MATTERS, SPECIAL_MATTERS, VoteResult, owner_vote
from workflows.rules.periods import DEFAULT_PERIODS, Period, period

__all__ = [
    "owner_vote", "VoteResult", "MATTERS", "SPECIAL_MATTERS",
    "score_project", "star_level", "credit_grade", "grade_consequence", "quality_below_price",
    "GradeConsequence", "DEFAULT_WEIGHTS", "DEFAULT_STAR_BANDS", "DEFAULT_GRADE_BANDS",
    "ProjectEvaluation", "evaluate_project",
    "period", "Period", "DEFAULT_PERIODS",
]
