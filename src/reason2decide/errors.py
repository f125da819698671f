"""The one exception type for problems a user can cause and fix."""

from __future__ import annotations

from os import PathLike


class R2DError(Exception):
    """A user-fixable problem: bad file, missing column, unknown model, bad option.

    The message names where the problem is (file, line, field) and, when known, how to fix it.
    The CLI prints it without a traceback and exits with status 2.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | PathLike[str] | None = None,
        line: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.path = str(path) if path is not None else None
        self.line = line
        self.field = field
        self.hint = hint
        self.detail = message
        super().__init__(self._format())

    def _format(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path
            if self.line is not None:
                where += f":{self.line}"
            where += ": "
        elif self.line is not None:
            where = f"line {self.line}: "
        field = f"field '{self.field}': " if self.field else ""
        text = f"{where}{field}{self.detail}"
        if self.hint:
            text += f" ({self.hint})"
        return text
