"""Everything that builds training and evaluation examples: readers, lexicons, code-switching, method data."""
