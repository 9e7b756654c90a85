"""Final training: one cell (or the LSTM) trained to the end with the published recipe.

config (FinalConfig and its presets), model (the language model with dropouts around one cell
core), run (FinalRun: a folder per training, resumable). Imports the core and proxy layers.
"""
