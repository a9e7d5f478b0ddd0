"""What an import tells: its counts, its problems by line, the text the CLI prints."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

MAX_PROBLEMS = 100


@dataclass(frozen=True)
class Problem:
    """A bad row: the physical line where its record starts in the file, a column, a reason."""

    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}, {self.column}: {self.reason}"


@dataclass
class ImportReport:
    kind: str
    file: str
    dry_run: bool
    update: bool
    rows: int = 0  # data rows read
    columns: list[str] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # the first MAX_PROBLEMS, by line
    problem_count: int = 0
    created: int = 0  # customers/products added, or purchases added
    updated: int = 0  # existing rows changed (--update)
    unchanged: int = 0  # existing rows whose values already match (--update)
    existing: int = 0  # existing rows (by key) in the file, left as they are without --update
    existing_keys: list[str] = field(default_factory=list)  # a sample of them
    lines: int = 0  # purchase lines added (purchases)
    cancelled: int = 0  # cancelled purchases among those added
    returns: int = 0  # return rows added
    stock_movements: int = 0  # 'import' movements written (products)
    preview: list[dict] = field(default_factory=list)  # the first rows as read, for a UI
    written: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    @property
    def warnings(self) -> list[str]:
        if not self.unknown_columns:
            return []
        names = ", ".join(self.unknown_columns)
        return [f"unknown column(s) ignored: {names} (known: {', '.join(self.columns)})"]

    def to_dict(self) -> dict:
        data = asdict(self)
        data["ok"], data["warnings"] = self.ok, self.warnings
        return data

    def text(self) -> str:
        """The report as a person reads it (the CLI prints this)."""
        out = [f"{self.kind} from {self.file}: {self.rows:,} row(s) read"]
        out += [f"warning: {warning}" for warning in self.warnings]
        if not self.ok:
            out.append(f"REFUSED: {self.problem_count:,} problem(s); nothing was written")
            out += [f"  {problem}" for problem in self.problems]
            hidden = self.problem_count - len(self.problems)
            if hidden > 0:
                out.append(f"  ... and {hidden:,} more problem(s)")
            return "\n".join(out)
        verb = "would add" if not self.written else "added"
        counts = [f"{verb} {self.created:,} {self.kind}"]
        if self.kind == "purchases":
            counts.append(
                f"{self.lines:,} lines, {self.cancelled:,} cancelled, {self.returns:,} returns"
            )
        if self.update:
            counts.append(
                f"{'would update' if not self.written else 'updated'} {self.updated:,}, "
                f"{self.unchanged:,} unchanged"
            )
        if self.stock_movements:
            counts.append(f"{self.stock_movements:,} stock movement(s)")
        out.append("; ".join(counts))
        if self.existing:
            sample = ", ".join(self.existing_keys)
            more = " ..." if self.existing > len(self.existing_keys) else ""
            out.append(f"{self.existing:,} already in the store, left as they are: {sample}{more}")
        out.append(
            "dry run: nothing was written" if self.dry_run else f"written in {self.seconds:.1f} s"
        )
        return "\n".join(out)


class Problems:
    """Every problem is counted; the first `limit` (by line) are kept."""

    def __init__(self, limit: int = MAX_PROBLEMS):
        self.limit, self.count, self.kept = limit, 0, []

    def add(self, line: int, column: str, reason: str) -> None:
        self.count += 1
        self.kept.append(Problem(line, column, reason))
        if len(self.kept) > self.limit * 2:
            self._trim()

    def _trim(self) -> None:
        self.kept = sorted(self.kept, key=lambda p: p.line)[: self.limit]

    def sorted(self) -> list[Problem]:
        self._trim()
        return self.kept
