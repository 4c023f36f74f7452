"""Library errors. Each also subclasses the built-in it refines, so callers may catch either.

Messages are in French: they reach residents and planners through the CLI and the API.
"""

from __future__ import annotations

from dataclasses import dataclass


class EssmapError(Exception):
    """Base class of every essmap error."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where (file, row, field) and what."""

    message: str
    file: str | None = None
    row: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.row is not None:
            where.append(f"ligne {self.row}")
        if self.field:
            where.append(f"champ « {self.field} »")
        prefix = ", ".join(where)
        return f"{prefix} : {self.message}" if prefix else self.message

    def as_dict(self) -> dict[str, object]:
        return {"file": self.file, "row": self.row, "field": self.field, "message": self.message}


class InvalidInputError(EssmapError, ValueError):
    """An input (file, row, parameter) is wrong. Carries every problem found, not only the first."""

    def __init__(self, problems: list[Problem] | Problem | str) -> None:
        if isinstance(problems, str):
            problems = [Problem(problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = problems
        super().__init__(self._summary())

    def _summary(self) -> str:
        if len(self.problems) == 1:
            return str(self.problems[0])
        lines = [f"{len(self.problems)} erreurs :"] + [f"  - {p}" for p in self.problems]
        return "\n".join(lines)


class MissingCRSError(InvalidInputError):
    """A geodata file declares no coordinate reference system."""


class InvalidParameterError(InvalidInputError):
    """A query parameter is out of range or malformed."""

    def __init__(self, parameter: str, message: str) -> None:
        self.parameter = parameter
        super().__init__(Problem(message, field=parameter))


class OutsideTerritoryError(InvalidParameterError):
    """A query point lies outside every territory essmap serves (lon and lat swapped, often)."""


class NotFoundError(EssmapError, LookupError):
    """A requested neighbourhood, actor or collection does not exist."""


class AlreadyExistsError(EssmapError, ValueError):
    """A record with this identifier exists already (creating it again would overwrite it)."""


class VersionConflictError(EssmapError, ValueError):
    """A change was based on a version of a record that is no longer the current one."""

    def __init__(self, message: str, *, current_version: int | None) -> None:
        self.current_version = current_version
        super().__init__(message)


class StoreError(EssmapError, OSError):
    """The store cannot be opened, read or written."""
