"""LinguaLIFT's recipes: `stage1` (language alignment: the alignment layer learns on code-switched text, LM
frozen), then `check` (does the bridge carry the prompt into the LM?), then `stage2` (task transfer: the LM learns
English instructions through the frozen bridge); `common` holds what both stages share.

The config names them ``recipe: lingualift_stage1`` and ``recipe: lingualift_stage2`` (`crosslift.train.RECIPES`).
"""
