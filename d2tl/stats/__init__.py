"""Statistics of the paper's comparisons: paired tests on the same test cases (:mod:`.paired`,
:mod:`.section_tests`) and censored epochs-to-level (:mod:`.censored`)."""
