"""The one error a user's input raises: ConfigError, whose one-line message names the problem and
the fix. Every module may raise it; this module imports nothing of the package."""


class ConfigError(ValueError):
    """A setting or an input file is unusable; the message says which and how to fix it."""
