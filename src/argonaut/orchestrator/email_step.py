"""The performer of ``Octopus.Email``: the server sends the step's message itself, on no worker.

The SMTP settings come through a callback the composition root builds (``service.smtp`` decrypts the
password with the master key), so the orchestrator never holds the key. Every line this step logs and
the failure it answers are masked with the values of the spot's sensitive variables and the SMTP
password: a subject written as ``#{DbPassword}`` shows ``********``.

An email step is not recorded as a script is: a node that restarts while one is sending sends it again
when it carries the deployment on (at least once, never lost).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from argonaut.domain.email import NOT_CONFIGURED, EmailContent, SmtpSettings, email_content, envelope_address
from argonaut.domain.masking import Masker
from argonaut.domain.processes import Action, Step
from argonaut.orchestrator.process_run import ProcessRun, Spot
from argonaut.orchestrator.smtp_client import EmailFailed, send_email

LoadSettings = Callable[[], Awaitable[SmtpSettings | None]]


class EmailStep:
    """``Tools.performers["Octopus.Email"]``: one email per spot (the server's one place)."""

    def __init__(self, load_settings: LoadSettings) -> None:
        self._load_settings = load_settings

    async def __call__(
        self, process: ProcessRun, step: Step, action: Action, spot: Spot, parent: str
    ) -> str | None:
        log = process.run.log
        activity = log.open_activity("Send email", parent=parent)
        variables, sensitive = process.source.spot_variables(step, action, spot, process.state)
        masker = Masker(variables[name] for name in sensitive if name in variables)

        def say(category: str, text: str) -> None:
            log.write(activity, category, masker.mask(text))

        failure = await self._send(process, action, variables, masker, say)
        if failure is not None:
            failure = masker.mask(failure)
            say("Fatal", failure)
        log.close_activity(activity, "Failed" if failure else "Success")
        return failure

    async def _send(
        self,
        process: ProcessRun,
        action: Action,
        variables: dict[str, str],
        masker: Masker,
        say: Callable[[str, str], None],
    ) -> str | None:
        settings = await self._load_settings()
        if settings is None:
            return NOT_CONFIGURED
        if settings.password:
            masker.add(settings.password)
        content = email_content(action.properties, variables)
        if isinstance(content, str):
            return content
        for warning in content.warnings:
            say("Warning", warning)
        say("Info", f"Sending email to {_recipients(content)} (subject '{content.subject}')")
        message = build_message(settings.send_from, content)
        try:
            with process.run.working():
                reply = await send_email(settings, message, content.recipients)
        except EmailFailed as exc:
            return str(exc)
        say("Info", f"The email was sent; {settings.host}:{settings.port} answered: {reply}")
        return None


def build_message(send_from: str, content: EmailContent) -> EmailMessage:
    """The MIME message; Bcc is left out of its headers (it is only in the envelope)."""
    message = EmailMessage()
    message["From"] = send_from
    if content.to:
        message["To"] = ", ".join(content.to)
    if content.cc:
        message["Cc"] = ", ".join(content.cc)
    message["Subject"] = content.subject
    message["Date"] = formatdate(usegmt=True)
    domain = envelope_address(send_from).rpartition("@")[2] or "argonaut.invalid"
    message["Message-ID"] = make_msgid(domain=domain)  # with a domain: no host-name look-up
    for name, value in content.priority.items():
        message[name] = value
    message.set_content(content.body, subtype="html" if content.is_html else "plain")
    return message


def _recipients(content: EmailContent) -> str:
    text = ", ".join(content.to) or "nobody directly"
    if content.cc:
        text += f"; CC {', '.join(content.cc)}"
    if content.bcc:
        text += f"; Bcc {', '.join(content.bcc)}"
    return text
