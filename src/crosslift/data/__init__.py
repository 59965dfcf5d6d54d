"""Everything that builds training and evaluation examples.

    options.py     ReadOptions: how to read a file of records, declared once for sources, verbs and readers
    records.py     the one record reader (JSON, JSONL, CSV/TSV, text, parquet, saved and hub datasets), used by
                   training data and benchmarks alike
    examples.py    the typed `Example`; validating readers (Alpaca-style and chat records), parallel sets, the
                   atomic JSONL writer
    lexicon.py     bilingual lexicons (MUSE, WECHSEL, GATITOS): reading, cleaning, merging, coverage
    codeswitch.py  code-switched text for LinguaLIFT stage 1
    crossin.py     CrossIn's cross-lingual mixes and weighted mixtures of sources
    plug.py        PLUG's pivot-guided targets and the extractor of the target-language answer
    translate.py   joint instruction + response translation through an OpenAI-compatible endpoint
    templates.py   prompt templates (alpaca, metamath, tulu, the tokenizer's chat template), question words
    tokenize.py    prompt + target -> token ids with an exact response-only loss mask
    validate.py    checking an example file: every problem of every record, counted by reason
    specs.py       one typed spec per `crosslift data` verb (a training source's `build:` is one), and the
                   command-line options of its fields
    commands.py    the `crosslift data` verbs (spec -> examples + manifest), which `crosslift/cli/data.py` puts
                   on the command line and `sources.py` runs for a training source's `build:`
    sources.py     a training config's data sources: read them all, building missing ones first

docs/data.md is the guide.
"""
