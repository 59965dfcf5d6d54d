"""Label conventions shared by the model wrappers, the data collators and the recipes."""

# Positions whose label is this take no part in the loss: PyTorch's cross-entropy default, which HF models use.
IGNORE_INDEX = -100
