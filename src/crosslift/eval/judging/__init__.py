"""Judging two runs' answers with an LLM judge: the judge's protocol (`protocol`: MT-bench pair-v2 + PLUG's fluency
sentence, verdicts, PLUG's aggregation) and the judging itself (`pairwise`: pairing, resumable judging, summary,
report)."""
