"""The paper's protocol as data: :mod:`.paper` (its constants and published numbers),
:mod:`.views` (the two modes, two views and four images of a case), :mod:`.presets` (paper / quick /
smoke), :mod:`.defaults` (the default case table and results root) and :mod:`.options` (the
options every command shares, docs/options.md).
"""
