"""Where every value of a YAML document came from (file and line)."""

from __future__ import annotations

from dataclasses import dataclass, field

#: A path into a loaded document: mapping keys and sequence indexes, e.g. ("clients", 3, "address").
Loc = tuple[str | int, ...]


@dataclass
class SourceMap:
    """Line numbers (1-based) of every mapping entry and sequence item of one file."""

    file: str
    lines: dict[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Loc) -> int:
        """Line of *loc*, or of its nearest enclosing entry that is known (1 for the whole file).

        >>> SourceMap("a.yml", {("x",): 3}).line_of(("x", 0, "y"))
        3
        """
        probe = tuple(loc)
        while probe:
            line = self.lines.get(probe)
            if line is not None:
                return line
            probe = probe[:-1]
        return self.lines.get((), 1)
