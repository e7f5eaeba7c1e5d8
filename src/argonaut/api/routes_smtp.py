"""``/api/smtpconfiguration``: the SMTP server the ``Octopus.Email`` step sends through, for the whole
server (every space and node). The password is write-only: reads show ``SmtpPassword: {HasValue}``.
``TlsMode`` is ours beside the described system's ``EnableSsl`` (see ``domain.email`` for both)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from pydantic import Field

from argonaut.api.auth import Caller, authorize
from argonaut.api.inputs import ApiInput
from argonaut.domain.email import TlsMode
from argonaut.domain.permissions import Permission
from argonaut.service import smtp
from argonaut.service.smtp import SmtpChange, StoredSmtp

router = APIRouter(tags=["SMTP configuration"])
# Reading needs the same permission as writing: the settings name the mail relay and its login.
_configure = authorize(Permission.CONFIGURE_SERVER, "system")
PATH = "/api/smtpconfiguration"


class SensitiveValue(ApiInput):
    HasValue: bool = False
    NewValue: str | None = Field(None, max_length=10_000)


class SmtpInput(ApiInput):
    # Types only: ranges and addresses are the service's rules, so every problem is named at once.
    SmtpHost: str | None = Field(None, max_length=1000)
    SmtpPort: int | None = None
    SendEmailFrom: str | None = Field(None, max_length=1000)
    SmtpLogin: str | None = Field(None, max_length=1000)
    SmtpPassword: SensitiveValue | None = None
    EnableSsl: bool | None = None
    TlsMode: str | None = Field(None, max_length=100)
    Timeout: int | None = None


def _resource(stored: StoredSmtp) -> dict[str, Any]:
    return {
        "Id": "smtpconfiguration",
        "SmtpHost": stored.host or None,
        "SmtpPort": stored.port,
        "SendEmailFrom": stored.send_from or None,
        "SmtpLogin": stored.login or None,
        "SmtpPassword": {"HasValue": stored.password is not None, "NewValue": None},
        "EnableSsl": stored.tls is not TlsMode.NONE,
        "TlsMode": stored.tls.value,
        "Timeout": stored.timeout_ms,
        "Links": {"Self": PATH, "IsConfigured": f"{PATH}/isconfigured"},
    }


@router.get(PATH, summary="The SMTP settings email steps send with (the password never shown)")
async def get_smtp(caller: Caller = Depends(_configure)) -> dict[str, Any]:
    async with caller.services.store.single() as conn:
        return _resource(await smtp.read_smtp(conn))


@router.get(f"{PATH}/isconfigured", summary="Whether email steps can send (an SMTP host is set)")
async def is_configured(caller: Caller = Depends(_configure)) -> dict[str, bool]:
    async with caller.services.store.single() as conn:
        return {"IsConfigured": (await smtp.read_smtp(conn)).is_configured}


@router.put(PATH, summary="Change the SMTP settings; an empty SmtpHost switches email off")
async def put_smtp(body: SmtpInput, caller: Caller = Depends(_configure)) -> dict[str, Any]:
    password = body.SmtpPassword
    change = SmtpChange(
        host=body.SmtpHost,
        port=body.SmtpPort,
        send_from=body.SendEmailFrom,
        login=body.SmtpLogin,
        enable_ssl=body.EnableSsl,
        tls_mode=body.TlsMode,
        timeout_ms=body.Timeout,
        new_password=password.NewValue if password is not None else None,
        password_kept=password is None or password.HasValue or password.NewValue is not None,
    )
    async with caller.services.store.transaction() as conn:
        stored = await smtp.save_smtp(conn, caller.services.secrets, change)
    return _resource(stored)
