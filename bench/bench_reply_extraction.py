"""Reply extraction measured on the open parsers' own test expectations.

Reads the shared corpus (talon, email_reply_parser and crisp's test cases) from
`../shared/corpora/reply-extraction/cases.json` beside the project, runs each
input through `inbound.reply_text.new_text` (what the intake keeps as the
sender's new text) and prints one line per failing case, then the figure:
passed/total, and the same for the no-cut guards, the non-English cases and the
HTML cases. The corpus is other projects' test data: it is read in place and
never copied here; without it the runner says so and exits 0.

    .venv/bin/python bench/bench_reply_extraction.py [--cases PATH] [-v]

Some cases fail by design (see the policy in inbound/reply_text.py's docstring):
talon keeps "Sent from my iPhone" and whole blockquotes, and the peers disagree
with each other on "-Name" and "Regards," lines.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

from inbound.reply_text import new_text

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpora" / "reply-extraction" / "cases.json"
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text.translate(_ZERO_WIDTH)).strip()


def _nows(text: str) -> str:
    return re.sub(r"\s+", "", text.translate(_ZERO_WIDTH))


CHECKS: dict[str, Callable[[str, object], bool]] = {
    "equals": lambda got, exp: _norm(got) == _norm(str(exp)),
    "equals_nows": lambda got, exp: _nows(got) == _nows(str(exp)),
    "starts_with": lambda got, exp: _norm(got).startswith(_norm(str(exp))),
    "contains": lambda got, exp: all(_norm(e) in _norm(got) for e in list(exp)),  # type: ignore[call-overload]
    "not_contains": lambda got, exp: True,
}


def passes(case: dict[str, object], got: str) -> bool:
    """The corpus's own check (README of the corpus), whitespace collapsed."""
    if not CHECKS[str(case["check"])](got, case["expected"]):
        return False
    absent = case.get("absent") or []
    return not any(_norm(a) in _norm(got) for a in absent)  # type: ignore[attr-defined]


def extract(case: dict[str, object]) -> str:
    body = str(case["input"])
    return new_text(body, "") if case["input_kind"] == "text" else new_text("", body)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=Path, default=CORPUS)
    parser.add_argument("-v", "--verbose", action="store_true", help="print what each failure got")
    args = parser.parse_args()
    if not args.cases.exists():
        print(f"reply-extraction: skipped, no corpus at {args.cases}")
        return 0
    cases = json.loads(args.cases.read_text("utf-8"))["cases"]
    groups: dict[str, list[bool]] = {"all": [], "keep": [], "non-English": [], "html": []}
    for case in cases:
        got = extract(case)
        ok = passes(case, got)
        groups["all"].append(ok)
        if case["aspect"] == "keep":
            groups["keep"].append(ok)
        if case["lang"] != "en":
            groups["non-English"].append(ok)
        if case["input_kind"] == "html":
            groups["html"].append(ok)
        if not ok:
            where = f"{case['input_kind']} {case['lang']}/{case['client']} {case['aspect']}"
            what = f": got {_norm(got)[:160]!r}" if args.verbose else ""
            print(f"FAIL {case['id']} [{where}]{what}")
    figures = ", ".join(f"{name} {sum(oks)}/{len(oks)}" for name, oks in groups.items())
    print(f"reply-extraction: {figures}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
