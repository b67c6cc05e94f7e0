"""Write: create a file, or replace one the model has already Read."""

from __future__ import annotations

from langchain_core.tools import ToolException
from pydantic import AliasChoices, BaseModel, Field

from claude_like.sandbox.base import FileTooLargeError
from claude_like.tools.base import ClaudeLikeTool, ToolInput, split_lines


class WriteInput(ToolInput):
    file_path: str = Field(
        description="Path of the file, relative to the workspace or absolute. Example: src/util.py",
        validation_alias=AliasChoices("file_path", "path"),
    )
    content: str = Field(description="The complete new content of the file.")


class Write(ClaudeLikeTool):
    """Creates parent folders; refuses to overwrite a file this conversation has not Read,
    or one that changed since it was read."""

    name: str = "Write"
    description: str = (
        "Create a new file, or replace ALL of an existing file's content. Parent folders are "
        "created. To overwrite an existing file you must Read it first. To change part of "
        "a file, use Edit instead (it is safer and shorter)."
    )
    args_schema: type[BaseModel] = WriteInput
    read_only = False

    def _execute(self, file_path: str, content: str) -> str:
        resolved = self.resolve(file_path)
        shown = self.show(resolved)
        info = self.sandbox.stat(resolved)
        if info is not None and info.is_dir:
            raise ToolException(
                f"{shown} is a directory. Give the path of a file inside it, e.g. {shown}/new.txt"
            )
        existed = info is not None
        if info is not None:
            try:
                current: bytes | None = self.sandbox.read_bytes(resolved)
            except FileTooLargeError:
                current = None  # too big to hash: modification time and size decide
            self.ensure_read_and_unchanged(resolved, shown, info, current)
        data = content.encode("utf-8")
        self.sandbox.write_bytes(resolved, data)
        self.remember_written(resolved, data)
        n = len(split_lines(content))
        verb = "Overwrote" if existed else "Created"
        return f"{verb} {shown} ({n} lines, {len(data)} bytes)."
