"""The proof kept with each signature: the drawn PNG checked (type, size) and a SHA-256 over every field of
the proof (time, method, name, IP address, user agent, the image's own hash), so a later change to any of
them shows when the hash is computed again."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import datetime

from marketplace.models import Attendance, HalfDayAttestation
from marketplace.models.attendance import SIGNATURE_MAX_BYTES
from marketplace.services.errors import DomainError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def proof_hash(**fields) -> str:
    """SHA-256 of a signature's proof: its fields in a fixed order, the image by its own hash."""
    image = fields.pop("signature_png", None)
    payload = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in sorted(fields.items())}
    payload["signature_sha256"] = hashlib.sha256(image).hexdigest() if image else None
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def attendance_proof_hash(row: Attendance) -> str:
    return proof_hash(
        attendance_id=row.id,
        enrolment_id=row.enrolment_id,
        slot_id=row.slot_id,
        signed_at=row.signed_at,
        method=row.sign_method,
        signed_name=row.signed_name,
        ip_address=row.ip_address,
        user_agent=row.user_agent,
        signature_png=row.signature_png,
    )


def attestation_proof_hash(row: HalfDayAttestation) -> str:
    return proof_hash(
        attestation_id=row.id,
        slot_id=row.slot_id,
        attested_at=row.attested_at,
        attested_by_id=row.attested_by_id,
        trainer_name=row.trainer_name,
        method=row.method,
        ip_address=row.ip_address,
        user_agent=row.user_agent,
        signature_png=row.signature_png,
    )


def check_signature_png(value: str | bytes | None) -> bytes | None:
    """A drawn signature (a PNG data URL from the canvas, or its bytes): a PNG under the size bound, or nothing."""
    if not value:
        return None
    data = value if isinstance(value, bytes) else _from_data_url(value)
    if len(data) > SIGNATURE_MAX_BYTES:
        raise DomainError("La signature dessinée est trop volumineuse : effacez-la et signez à nouveau.")
    if not data.startswith(PNG_MAGIC):
        raise DomainError("La signature dessinée n'a pas pu être lue : effacez-la et signez à nouveau.")
    return data


def _from_data_url(value: str) -> bytes:
    prefix = "data:image/png;base64,"
    if not value.startswith(prefix) or len(value) > SIGNATURE_MAX_BYTES * 4 // 3 + len(prefix) + 4:
        raise DomainError("La signature dessinée n'a pas pu être lue : effacez-la et signez à nouveau.")
    try:
        return base64.b64decode(value[len(prefix) :], validate=True)
    except (binascii.Error, ValueError) as error:
        raise DomainError(
            "La signature dessinée n'a pas pu être lue : effacez-la et signez à nouveau."
        ) from error


def clip(value: str | None, bound: int) -> str | None:
    return (value or "")[:bound] or None
