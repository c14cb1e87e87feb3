"""Operator decisions: record pairs a person has declared one service or never one service."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

DEFAULT_DECISIONS_PATH = Path(__file__).with_name("decisions.yaml")


class DecisionsError(ValueError):
    """The decisions file is unreadable or contradicts itself; the message lists every problem."""

    def __init__(self, path: Path | str, problems: list[str]):
        self.problems = problems
        listing = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{path}: {len(problems)} problem(s):\n{listing}")


class PairDecision(BaseModel):
    """One decision on two records, with the reason the next operator needs to keep it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    a: str = Field(min_length=1)
    b: str = Field(min_length=1)
    reason: str = Field(min_length=1)

    @model_validator(mode="after")
    def _two_records(self) -> PairDecision:
        if self.a == self.b:
            raise ValueError(f"a and b are both {self.a!r} (expected two different record ids)")
        return self

    @property
    def key(self) -> tuple[str, str]:
        return (self.a, self.b) if self.a < self.b else (self.b, self.a)


class OperatorDecisions(BaseModel):
    """Must-link and cannot-link pairs; a pair in both lists is refused at load time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    must_link: list[PairDecision] = Field(default_factory=list)
    cannot_link: list[PairDecision] = Field(default_factory=list)

    @model_validator(mode="after")
    def _no_contradiction(self) -> OperatorDecisions:
        both = sorted({d.key for d in self.must_link} & {d.key for d in self.cannot_link})
        if both:
            raise ValueError(
                f"pairs {both} are both must_link and cannot_link (expected one decision per pair)"
            )
        return self


def load_decisions(path: Path | None = None) -> OperatorDecisions:
    """Read the operator's decisions (the packaged `decisions.yaml` by default)."""
    path = path or DEFAULT_DECISIONS_PATH
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise DecisionsError(path, [f"cannot read the file: {exc}"]) from None
    if not isinstance(data, dict):
        raise DecisionsError(path, ["expected a mapping with 'must_link' and 'cannot_link'"])
    try:
        return OperatorDecisions.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in e['loc']) or 'file'}: "
            + ("unknown field" if e["type"] == "extra_forbidden" else e["msg"].removeprefix("Value error, "))
            for e in exc.errors()
        ]
        raise DecisionsError(path, problems) from None
