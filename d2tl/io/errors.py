"""The one exception type users see: bad input, named precisely.

The command line prints a ``D2TLError`` as one line and exits non-zero, without a traceback;
anything else is a bug and keeps its traceback.
"""


class D2TLError(Exception):
    """Bad input or an impossible request; the message names the patient, view and file."""


class DataError(D2TLError):
    """A data file or case table that cannot be used as given."""


def where(case_id=None, image=None, path=None) -> str:
    """A ``patient P, image le_cc, file F`` prefix for error messages (parts that are known)."""
    parts = []
    if case_id is not None:
        parts.append(f"patient {case_id!s}")
    if image is not None:
        parts.append(f"image {image}")
    if path is not None:
        parts.append(f"file {path}")
    return ", ".join(parts)
