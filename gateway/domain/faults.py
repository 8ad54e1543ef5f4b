"""A mistake told to an agent, as a code and arguments as well as English text.

Errors of agent commands travel as strings through the decision (its reason, the
audit log, tests read them in English); the mail that tells the agent is written in
the gateway's locale, so each error also carries a code and the values it names, and
gateway/mail/labels.py (`Words.fault`) words it. A `Fault` is a `str`, so every place
that only logs or compares errors keeps working unchanged.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any


class Fault(str):
    """English text, plus `code` and `params` for the locale's words."""

    code: str
    params: MappingProxyType[str, str]

    def __new__(cls, code: str, english: str, **params: object) -> Fault:
        fault = super().__new__(cls, english)
        fault.code = code
        fault.params = MappingProxyType({k: str(v) for k, v in params.items()})
        return fault

    def at(self, line: str) -> Fault:
        """The same mistake, prefixed with the command line that made it."""
        return Fault(self.code, f"{line}: {self}", **{**self.params, "line": line})

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (self.code, str(self), dict(self.params)))


def _rebuild(code: str, english: str, params: dict[str, str]) -> Fault:
    return Fault(code, english, **params)
