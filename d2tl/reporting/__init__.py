"""Reports of the paper's sections: text formats, Markdown tables, figures, section folders,
``SUMMARY.md`` and the guard against overwriting another configuration's report.

Reporting receives section results (and, for the figure, the section's drawing function) and
never imports :mod:`d2tl.sections` back.
"""
