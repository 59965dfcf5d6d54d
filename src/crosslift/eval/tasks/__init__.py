"""What is evaluated: the task registry (`registry`) over the task YAMLs in the folders here (mmwp, mgsm,
parallel_math, cross_mc, pairwise), the items of a task's data (`data`; Cross-XQuAD-style multiple choice built
from XQuAD: `xquad_mc`) and the prompts built from them (`prompts`)."""
