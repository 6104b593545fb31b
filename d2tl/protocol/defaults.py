"""Default locations every command shares: the built-in synthetic case table and the results root."""

DEFAULT_CASES = "data/synthetic/cases.csv"
DEFAULT_OUT = "results"
SYNTH_HINT = " (write the synthetic data set first: python -m d2tl synth)"


def missing_cases_hint(cases) -> str:
    """What to add to a 'case table does not exist' message: how to make the default one."""
    return SYNTH_HINT if str(cases) == DEFAULT_CASES else ""
