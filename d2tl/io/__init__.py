"""Files and errors, under every other package: :mod:`.errors` (D2TLError: bad input, named
precisely), :mod:`.checks` (option values and output locations, checked before any work),
:mod:`.failures` (steps that fail without stopping the others), :mod:`.atomic` (write, then
rename), :mod:`.text_table` (the strict CSV read) and :mod:`.provenance` (what every result carries).
"""
