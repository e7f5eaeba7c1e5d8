"""The agent's file service: files the server sends or fetches, checked by SHA-256 both ways.

Every path is resolved inside the agent's ``files`` folder; a path that would leave it (``..``, an
absolute path, a symlink pointing out) is refused, so a server can never read or overwrite anything
else on the machine through this service.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from argonaut.protocol.link import MethodError
from argonaut.protocol.methods import FileData, FileDownload, FileUpload


class FileService:
    def __init__(self, root: Path) -> None:
        self._root = root

    def _resolve(self, relative: str) -> Path:
        self._root.mkdir(parents=True, exist_ok=True)
        root = self._root.resolve()
        path = (root / relative).resolve()
        if path == root or root not in path.parents:
            raise MethodError("bad-path", f"'{relative}' is outside this agent's files folder")
        return path

    def upload(self, request: FileUpload) -> FileData:
        data = base64.b64decode(request.content_b64, validate=True)
        digest = hashlib.sha256(data).hexdigest()
        if digest != request.sha256:
            raise MethodError("bad-hash", f"the file arrived with SHA-256 {digest}, not {request.sha256}")
        path = self._resolve(request.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.incoming")
        temporary.write_bytes(data)
        os.replace(temporary, path)  # readers never see half a file
        return FileData(path=request.path, length=len(data), sha256=digest)

    def download(self, request: FileDownload) -> FileData:
        path = self._resolve(request.path)
        if not path.is_file():
            raise MethodError("no-file", f"this agent has no file '{request.path}'")
        data = path.read_bytes()
        return FileData(
            path=request.path,
            length=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            content_b64=base64.b64encode(data).decode(),
        )
