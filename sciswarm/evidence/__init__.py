"""What a paper can be checked against: the runs' measurements (with seeds), statistics, the numbers the text
states and where they come from, comparative claims verified by code, and the audit report."""

from sciswarm.evidence.claims import CheckedClaim, Claim, ClaimList, verify
from sciswarm.evidence.measurements import Measurement, Results, aggregate_seeds, seeds_ignored
from sciswarm.evidence.numbers import NumberMention, find_numbers
from sciswarm.evidence.report import AuditReport, TracedNumber, appendix, summary_for_reviewers
from sciswarm.evidence.stats import Comparison, compare, welch_p

__all__ = [
    "AuditReport",
    "CheckedClaim",
    "Claim",
    "ClaimList",
    "Comparison",
    "Measurement",
    "NumberMention",
    "Results",
    "TracedNumber",
    "aggregate_seeds",
    "appendix",
    "compare",
    "find_numbers",
    "seeds_ignored",
    "summary_for_reviewers",
    "verify",
    "welch_p",
]
