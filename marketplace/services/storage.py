"""Uploaded documents: checked (type, size), stored outside the web root behind a small interface.

Files live under ``STORAGE_DIR`` (default ``instance/uploads``), named by a random key; the original
name and type are kept in the database row that owns the file, and views serve a file only after checking
who may read it. Another backend (S3…) only has to provide ``save``, ``read`` and ``delete``.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from marketplace.extensions import db
from marketplace.services.errors import DomainError

log = logging.getLogger(__name__)

# Extension -> (MIME type, magic bytes the content must start with).
ALLOWED_TYPES = {
    ".pdf": ("application/pdf", b"%PDF-"),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", b"PK\x03\x04"),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b"PK\x03\x04"),
    ".odt": ("application/vnd.oasis.opendocument.text", b"PK\x03\x04"),
}
DEFAULT_MAX_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class StoredFile:
    key: str
    filename: str
    content_type: str
    size: int


class LocalStorage:
    def __init__(self, root: Path):
        self.root = root

    def _path(self, key: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{32}\.[a-z]{3,4}", key):
            raise ValueError("clé de fichier invalide")
        return self.root / key[:2] / key

    def save(self, data: bytes, extension: str) -> str:
        key = secrets.token_hex(16) + extension
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        return key

    def save_file(self, source: str, extension: str) -> str:
        """Move a finished file (written elsewhere under ``root``) into the store, without reading it."""
        key = secrets.token_hex(16) + extension
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(source, path)
        return key

    def read(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def chunks(self, key: str, size: int = 256 * 1024) -> Iterator[bytes]:
        """The file in pieces, for a streamed response (constant memory whatever its size)."""
        with self._path(key).open("rb") as handle:
            while chunk := handle.read(size):
                yield chunk

    def scratch_dir(self) -> str:
        """Where files are written before ``save_file`` (same disk: the move is a rename)."""
        path = self.root / "tmp"
        path.mkdir(parents=True, exist_ok=True)
        return str(path)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


def storage() -> LocalStorage:
    root = current_app.config.get("STORAGE_DIR") or os.path.join(current_app.instance_path, "uploads")
    return LocalStorage(Path(root))


def max_bytes() -> int:
    return int(current_app.config.get("UPLOAD_MAX_BYTES", DEFAULT_MAX_BYTES))


def safe_filename(name: str) -> str:
    """Keep a readable name (accents folded), without any path, for the download."""
    name = os.path.basename((name or "").replace("\\", "/"))
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^A-Za-z0-9._ -]+", "_", ascii_name).strip(" .")
    return cleaned[:150] or "document"


def check_upload(filename: str, data: bytes) -> tuple[str, str, str]:
    """Refuse what is not PDF, DOCX, XLSX or ODT, or is too large; return (name, extension, MIME type)."""
    name = safe_filename(filename)
    extension = os.path.splitext(name)[1].lower()
    if extension not in ALLOWED_TYPES:
        raise DomainError(
            f"Le fichier « {name} » n'est pas accepté : déposez un document PDF, DOCX, XLSX ou ODT.",
            field="file",
        )
    limit = max_bytes()
    if len(data) > limit:
        raise DomainError(
            f"Le fichier « {name} » dépasse la taille maximale de {limit // (1024 * 1024)} Mo.", field="file"
        )
    if not data:
        raise DomainError(f"Le fichier « {name} » est vide.", field="file")
    content_type, magic = ALLOWED_TYPES[extension]
    if not data.startswith(magic):
        raise DomainError(
            f"Le contenu de « {name} » ne correspond pas à un fichier {extension[1:].upper()} : "
            "vérifiez le document ou exportez-le à nouveau.",
            field="file",
        )
    return name, extension, content_type


def store(filename: str, data: bytes) -> StoredFile:
    """Check then save; nothing is written when the file is refused."""
    name, extension, content_type = check_upload(filename, data)
    key = storage().save(data, extension)
    return StoredFile(key=key, filename=name, content_type=content_type, size=len(data))


# --- Files follow their transaction ---------------------------------------------------------------------
# A file is written before its row is committed and deleted only after its row's removal is committed, so
# a rolled-back request (a refusal, an error) never leaves an orphan file nor loses a file still referenced.

_STORED = "storage_stored_keys"  # files written in this transaction: deleted if it rolls back
_DELETED = "storage_deleted_keys"  # files whose row was removed: deleted once the removal is committed


def discard_if_rolled_back(key: str) -> None:
    """The file ``key`` was just written for a row of this transaction: delete it if the transaction fails."""
    db.session.info.setdefault(_STORED, []).append(key)


def delete_after_commit(key: str) -> None:
    """The row owning ``key`` was removed in this transaction: delete the file once that is committed."""
    db.session.info.setdefault(_DELETED, []).append(key)


def _delete_quietly(keys: list[str], why: str) -> None:
    for key in keys:
        try:
            storage().delete(key)
        except Exception:  # noqa: BLE001 - the row is settled; an orphan file is harmless, log it
            log.exception("Fichier %s non supprimé (%s).", key, why)


@event.listens_for(Session, "after_commit")
def _after_commit(session):
    if session.get_nested_transaction() is not None:  # a SAVEPOINT released: not committed yet
        return
    session.info.pop(_STORED, None)
    _delete_quietly(session.info.pop(_DELETED, []), "après le retrait de son document")


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(session, previous_transaction):
    if previous_transaction.parent is not None:
        return
    session.info.pop(_DELETED, None)
    _delete_quietly(session.info.pop(_STORED, []), "après l'annulation de son dépôt")
