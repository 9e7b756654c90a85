"""Records of older layouts, read as today's: one function per version, each taking a record of
its version to the next (docs/guide/record-format.md, "Versions").

    state = migrate(state, path)     # any version up to schema.VERSION -> schema.VERSION

Version 1 is the first layout. Version 2 records the seed rule in every record: a version-1 record
written before the seed rule was a setting trained one seed per candidate.
"""
from __future__ import annotations

import re

from ..errors import ConfigError
from .layout import FORMAT, PREFIX, VERSION


def _v1_to_v2(state: dict) -> dict:
    return {**state, "format": PREFIX + "2", "config": {"seed_rule": "candidate", **state["config"]}}


MIGRATIONS = {1: _v1_to_v2}     # version -> the function that takes a record of it to the next


def version_of(state: dict, path) -> int:
    """The version a record's format names; ConfigError (one line) for a foreign or newer one."""
    m = re.fullmatch(re.escape(PREFIX) + r"(\d+)", str(state.get("format")))
    if not m:
        raise ConfigError(f"{path} is not an autoshrink search record ({FORMAT}); give a search's --save folder")
    version = int(m.group(1))
    if version > VERSION:
        raise ConfigError(f"{path} was written by a newer autoshrink (record version {version}, this one reads up "
                          f"to {VERSION}); upgrade autoshrink to read it")
    return version


def migrate(state: dict, path) -> dict:
    """`state` taken from its version to schema.VERSION, one migration at a time."""
    for version in range(version_of(state, path), VERSION):
        state = MIGRATIONS[version](state)
    return state
