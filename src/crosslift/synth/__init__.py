"""A synthetic multilingual world for `crosslift demo`: generated languages, corpora, dictionaries and benchmarks.

`crosslift.synth.world` generates the world from a seed and a YAML config (`configs/world/*.yaml`).
"""
