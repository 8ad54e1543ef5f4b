"""Temporary alias while the config loader moves to `rules.sourcefile`."""

from rules.sourcefile import *  # noqa: F403
from rules.sourcefile import Located, Problem, SourceFileError  # noqa: F401
