"""Everything that builds training and evaluation examples.

    examples.py    the typed `Example`; readers (JSON, JSONL, CSV/TSV, parquet, saved datasets, chat records),
                   parallel sets, the atomic JSONL writer
    lexicon.py     bilingual lexicons (MUSE, WECHSEL, GATITOS): reading, cleaning, merging, coverage
    codeswitch.py  code-switched text for LinguaLIFT stage 1
    crossin.py     CrossIn's cross-lingual mixes and weighted mixtures of sources
    plug.py        PLUG's pivot-guided targets and the extractor of the target-language answer
    translate.py   joint instruction + response translation through an OpenAI-compatible endpoint
    templates.py   prompt templates (alpaca, metamath, tulu, the tokenizer's chat template), question words
    tokenize.py    prompt + target -> token ids with an exact response-only loss mask

`crosslift data COMMAND` (crosslift/cli/data.py) drives them from the command line; docs/data.md is the guide.
"""
