"""Everything that turns text into text: loaders (`build`), the tiny-model kit (`tiny`), generation, the bridge.

Kept free of heavy imports: ``import crosslift.models`` must not pull in torch or transformers.
"""
