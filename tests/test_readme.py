"""The README stays short and names only paths that exist.

- At most :data:`MAX_LINES` lines: everything else lives in docs/.
- Every repository path it names exists. A path is named
  - as a link target, ``[text](target)`` or ``![alt](target)``;
  - as a word of an inline code span, ```...```, that contains a ``/`` or ends in a file
    extension (``python experiments/pooling.py`` names ``experiments/pooling.py``);
  - as a word of a fenced code block whose first component is a top-level entry of the
    repository (``data/cdd-cesm/cases.csv``, ``experiments/run_all.py``). Other words there are
    the user's own files (``labels.csv``, ``DIR``) or the layout sketch of ``results/``.
  A ``<placeholder>`` component (``results/baseline/<hash>/``) matches any name: the path must
  then match at least one existing path.
- Not checked, and why:
  - URLs (``scheme://...``, ``mailto:``) and in-page anchors (``#...``): not repository paths;
    an anchor after a path is dropped and the path checked.
  - absolute, home and environment paths (``/tmp/d2tl-check``, ``~/...``, ``$KERAS_HOME/...``):
    outside the repository by definition.
  - options (``--out``) and words without a ``/`` or an extension (``run_all``, ``d2tl``).
  - paths under :data:`WRITTEN_BY_COMMANDS`: folders that commands write and git ignores, so a
    fresh clone lacks them (``data/synthetic/``, ``results/runs/<hash>/``). Each entry names the
    commands that write it, and a test checks that ``.gitignore`` ignores it, so a committed
    file cannot hide behind the exclusion.

Also: the README's install and test commands are the ones ``.ci/run`` runs, and the README cites
docs/ or the paper, never a tracker's issue number.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
MAX_LINES = 150

# Folder prefix -> the commands that write it. Every prefix is ignored by .gitignore (tested).
WRITTEN_BY_COMMANDS = {
    "data/": "python -m d2tl synth, cdd-cesm, from-dicom; the external set by the section scripts "
             "(everything under data/ but data/README.md is ignored)",
    "results/runs/": "every training command: the results store of trained configurations",
    "results/cache/": "the section scripts: ROI arrays cached by data set, box and shift",
}
# .gitignore patterns that ignore each prefix above.
GITIGNORE_PATTERNS = {"data/": "/data/*", "results/runs/": "/results/runs/", "results/cache/": "/results/cache/"}

EXTENSIONS = (".py", ".md", ".txt", ".toml", ".csv", ".json", ".png", ".sh", ".npz", ".keras", ".h5",
              ".cfg", ".yaml", ".yml")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
INLINE_CODE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
FENCE = re.compile(r"^```.*?$(.*?)^```", re.S | re.M)
PLACEHOLDER = re.compile(r"<[^<>/]+>")


def readme_text() -> str:
    return README.read_text(encoding="utf-8")


def is_url(word: str) -> bool:
    return bool(re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", word)) or word.startswith("#")


def outside_repository(word: str) -> bool:
    return word.startswith(("/", "~", "$"))


def clean(word: str) -> str:
    return word.strip("\"'()[],;:").split("#", 1)[0]


def looks_like_path(word: str) -> bool:
    if not word or word.startswith("-") or is_url(word) or outside_repository(word):
        return False
    return "/" in word or word.endswith(EXTENSIONS)


def top_level_names() -> set[str]:
    return {p.name for p in ROOT.iterdir()}


def named_paths(text: str) -> list[str]:
    """Every repository path the text names, in order (see the module docstring)."""
    fences = FENCE.findall(text)
    prose = FENCE.sub("", text)
    found = [clean(t) for t in LINK.findall(prose) if not is_url(t)]
    for span in INLINE_CODE.findall(prose):
        found += [w for w in map(clean, span.split()) if looks_like_path(w)]
    top = top_level_names()
    for block in fences:
        for line in block.splitlines():
            code = line.split("  #", 1)[0]
            found += [w for w in map(clean, code.split())
                      if looks_like_path(w) and w.split("/", 1)[0] in top]
    return [p for p in found if p]


def written_by_command(path: str) -> bool:
    return any(path.startswith(prefix) and path != "data/README.md" for prefix in WRITTEN_BY_COMMANDS)


def exists(path: str) -> bool:
    if PLACEHOLDER.search(path):
        pattern = PLACEHOLDER.sub("*", path.rstrip("/"))
        return any(ROOT.glob(pattern))
    return (ROOT / path).exists()


def missing_paths(text: str) -> list[str]:
    return [p for p in named_paths(text) if not written_by_command(p) and not exists(p)]


def test_readme_is_at_most_150_lines():
    n = len(readme_text().splitlines())
    assert n <= MAX_LINES, f"README.md has {n} lines, more than {MAX_LINES}: move detail to docs/"


def test_every_path_the_readme_names_exists():
    assert named_paths(readme_text()), "no path found: the extraction is broken"
    missing = missing_paths(readme_text())
    assert not missing, f"README.md names paths that do not exist in the repository: {missing}"


def test_the_path_check_finds_a_missing_path_in_each_place():
    text = ("see [the guide](docs/nowhere.md) and ![fig](results/none.png), run "
            "`python experiments/no_such.py --out /tmp/x`, read `d2tl/nothing/`.\n"
            "```bash\npython experiments/absent.py --cases data/synthetic/cases.csv   # a comment\n"
            "python -m d2tl from-dicom --labels labels.csv --out cases.csv\n```\n"
            "`results/runs/<hash>/` and `results/baseline/<hash>/` and [web](https://example.org/a.md) "
            "and [here](#install) and `$KERAS_HOME/models/` and `docs/gpu.md#install`\n")
    assert missing_paths(text) == ["docs/nowhere.md", "results/none.png", "experiments/no_such.py",
                                   "d2tl/nothing/", "experiments/absent.py"]


def test_excluded_folders_are_ignored_by_git():
    ignore = (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert set(GITIGNORE_PATTERNS) == set(WRITTEN_BY_COMMANDS)
    for prefix, pattern in GITIGNORE_PATTERNS.items():
        assert pattern in ignore, f"{prefix} is excluded from the README check but not ignored by git"


def ci_commands() -> list[str]:
    lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    commands = [l.strip() for l in lines if l.strip() and not l.lstrip().startswith("#")]
    return [c for c in commands if c.startswith("python")]


def normalise(command: str) -> str:
    return re.sub(r"^python -m pip ", "pip ", command.split("  #", 1)[0].strip())


def test_readme_install_and_test_commands_are_those_ci_runs():
    blocks = [b.strip().splitlines() for b in FENCE.findall(readme_text())]
    readme_commands = {normalise(line) for block in blocks for line in block}
    for command in ci_commands():
        assert normalise(command) in readme_commands, f".ci/run runs {command!r}, which the README does not show"


def test_readme_cites_no_issue_numbers():
    hits = re.findall(r"\b[Ii]ssues? #?\d+|#\d+\b", readme_text())
    assert not hits, f"README.md cites a tracker's issue number: {hits}; cite docs/ or the paper"
