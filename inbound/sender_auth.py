"""What our own mail servers concluded about the sender, from Authentication-Results.

Pipeline steps call `sender_authentication` on the ParsedMessage before any
ticket is touched, to decide how far the From address may be believed (a
contact "opening a ticket" by forged From must not be trusted). The verdict
comes only from Authentication-Results headers (RFC 8601) written by servers
we name as trusted; any other such header may have been written by the sender.
Pure: headers in, verdict out; no I/O and no DNS.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from gateway.domain import ParsedMessage, SenderAuth

# Second-level labels under a two-letter ccTLD that are public suffixes
# themselves (alfa.com.br, beta.co.uk): a rough stand-in for the Public Suffix
# List, which is what DMARC (RFC 7489 section 3.2) uses for organizational domains.
_CCTLD_SECOND_LEVELS = frozenset({"ac", "co", "com", "edu", "gov", "mil", "net", "org"})


def sender_authentication(msg: ParsedMessage, trusted_authserv_ids: Sequence[str]) -> SenderAuth:
    """PASS, FAIL or UNKNOWN for the From domain, as trusted servers judged it.

    A DMARC result decides when present (a fail outvotes a pass).
    Without one, an aligned DKIM or SPF pass means PASS, an SPF hard fail
    without an aligned DKIM pass means FAIL, and anything else is UNKNOWN.
    """
    trusted = {authserv_id.strip().lower() for authserv_id in trusted_authserv_ids}
    # Only the topmost header a trusted server wrote counts: our border MTA adds its
    # own above whatever the sender put in the message (RFC 8601 section 5), so a
    # copy carrying the same authserv-id further down is the sender's forgery.
    results: list[_Result] = []
    for value in msg.header_values("Authentication-Results"):
        if _written_by(value, trusted):
            results = _trusted_results(value, trusted)
            break
    if not results:
        return SenderAuth.UNKNOWN

    dmarc = {r.result for r in results if r.method == "dmarc"}
    if "fail" in dmarc:
        return SenderAuth.FAIL
    if "pass" in dmarc:
        return SenderAuth.PASS

    from_domain = msg.sender.domain if msg.sender is not None else ""
    if any(_aligned(_dkim_domain(r), from_domain) for r in _passes(results, "dkim")):
        return SenderAuth.PASS
    if any(_aligned(_spf_domain(r), from_domain) for r in _passes(results, "spf")):
        return SenderAuth.PASS
    # RFC 7208 section 2.6.4: "fail" is the hard fail; "softfail" is not evidence.
    if any(r.method == "spf" and r.result == "fail" for r in results):
        return SenderAuth.FAIL
    return SenderAuth.UNKNOWN


# --- the verdicts -----------------------------------------------------------------


@dataclass(frozen=True)
class _Result:
    """One resinfo of RFC 8601 section 2.2: method=result and its properties."""

    method: str
    result: str
    properties: dict[str, str] = field(default_factory=dict)


def _passes(results: Iterable[_Result], method: str) -> list[_Result]:
    return [r for r in results if r.method == method and r.result == "pass"]


def _dkim_domain(result: _Result) -> str:
    """The signing domain: header.d, or the domain of header.i (RFC 6376 3.5)."""
    signer = result.properties.get("header.d") or result.properties.get("header.i", "")
    return _domain_of(signer)


def _spf_domain(result: _Result) -> str:
    """The domain SPF checked, from smtp.mailfrom (RFC 8601 section 2.7.2)."""
    return _domain_of(result.properties.get("smtp.mailfrom", ""))


def _domain_of(value: str) -> str:
    return value.strip().strip("<>").rpartition("@")[2].strip(".").lower()


def _organizational_domain(domain: str) -> str:
    """The registered domain: the last two labels, three under com.br-like suffixes."""
    labels = domain.split(".")
    if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _CCTLD_SECOND_LEVELS:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def _aligned(domain: str, from_domain: str) -> bool:
    """Relaxed identifier alignment (RFC 7489 section 3.1): same organizational domain."""
    if not domain or not from_domain:
        return False
    return _organizational_domain(domain) == _organizational_domain(from_domain.lower())


# --- reading the header -----------------------------------------------------------


class _Token(NamedTuple):
    kind: str  # "word" (atom or quoted string), ";" or "="
    text: str


def _written_by(value: str, trusted: set[str]) -> bool:
    head = _split(_tokenize(value), ";")[0]
    return bool(head) and head[0].kind == "word" and head[0].text.lower() in trusted


def _trusted_results(value: str, trusted: set[str]) -> list[_Result]:
    """The results of one header, or none when a server we do not trust wrote it."""
    segments = _split(_tokenize(value), ";")
    head = segments[0]
    # RFC 8601 section 2.2: authserv-id [version] first. Microsoft's headers
    # start straight with "spf=..." and have no authserv-id at all.
    if not head or head[0].kind != "word" or any(t.kind == "=" for t in head):
        return []
    if head[0].text.lower() not in trusted:
        return []
    return [result for segment in segments[1:] if (result := _resinfo(segment)) is not None]


def _resinfo(tokens: list[_Token]) -> _Result | None:
    """method[/version]=result followed by reason= and ptype.property= pairs."""
    if len(tokens) < 3 or tokens[1].kind != "=" or tokens[0].kind != "word":
        return None  # includes the RFC 8601 "none" no-result
    method = tokens[0].text.partition("/")[0].lower()
    result = tokens[2].text.lower()
    properties: dict[str, str] = {}
    index = 3
    while index < len(tokens):
        # Anything not shaped key=value is skipped rather than failing the header.
        if (
            index + 2 < len(tokens)
            and tokens[index + 1].kind == "="
            and tokens[index + 2].kind == "word"
        ):
            key = tokens[index].text.lower()
            properties.setdefault(key, tokens[index + 2].text)
            index += 3
        else:
            index += 1
    return _Result(method, result, properties)


def _split(tokens: list[_Token], separator: str) -> list[list[_Token]]:
    segments: list[list[_Token]] = [[]]
    for token in tokens:
        if token.kind == separator:
            segments.append([])
        else:
            segments[-1].append(token)
    return segments


def _tokenize(value: str) -> list[_Token]:
    """Words, quoted strings, ";" and "="; comments and folding whitespace dropped."""
    tokens: list[_Token] = []
    index = 0
    while index < len(value):
        char = value[index]
        if char.isspace() or char == ")":  # a stray ")" outside a comment is noise
            index += 1
        elif char == "(":
            index = _skip_comment(value, index)
        elif char in ";=":
            tokens.append(_Token(char, char))
            index += 1
        elif char == '"':
            text, index = _read_quoted(value, index)
            tokens.append(_Token("word", text))
        else:
            start = index
            while index < len(value) and not value[index].isspace() and value[index] not in '();="':
                index += 1
            tokens.append(_Token("word", value[start:index]))
    return tokens


def _skip_comment(value: str, index: int) -> int:
    """The index just past a (possibly nested) comment starting at value[index]."""
    depth = 0
    while index < len(value):
        char = value[index]
        if char == "\\":
            index += 2
            continue
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index + 1
        index += 1
    return index  # an unclosed comment runs to the end


def _read_quoted(value: str, index: int) -> tuple[str, int]:
    """The unescaped content of a quoted string at value[index], and the index after it."""
    chars: list[str] = []
    index += 1
    while index < len(value):
        char = value[index]
        if char == "\\" and index + 1 < len(value):
            chars.append(value[index + 1])
            index += 2
        elif char == '"':
            return "".join(chars), index + 1
        else:
            chars.append(char)
            index += 1
    return "".join(chars), index
