"""The ``Octopus.Email`` step end to end: SMTP settings through ``/api/smtpconfiguration``, a deployment
whose email step the server sends itself, and a real SMTP receiver (aiosmtpd) on loopback that shows
what arrived: the substituted subject and body, the envelope's To, CC and Bcc, the stored password
used to log in (and shown nowhere), TLS from the first byte and STARTTLS with a certificate the server
is made to trust, and the failures an operator must be able to act on."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from test_deployments import Project, ok

from conftest import ServerProcess, free_port, unique

pytestmark = pytest.mark.databases("SQLite", "PostgreSQL")

SMTP_PATH = "/api/smtpconfiguration"
LOGIN, PASSWORD = "mailer", "s3cret-smtp-pw-Q7"
MAIL_PROPERTIES = {
    "Octopus.Action.Email.To": "ops@example.com",
    "Octopus.Action.Email.Subject": "Deployed #{Octopus.Project.Name} #{Octopus.Release.Number}",
    "Octopus.Action.Email.Body": "to #{Octopus.Environment.Name}",
}


def mail_step(**properties: str) -> dict[str, Any]:
    """The brief's step, with ``properties`` added or replaced."""
    action = {"Name": "Mail", "ActionType": "Octopus.Email", "Properties": MAIL_PROPERTIES | properties}
    return {"Name": "Mail", "Actions": [action]}


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage
    login: str | None


@dataclass
class Receiver:
    """What a loopback SMTP server was sent; aiosmtpd calls ``handle_DATA`` on its own thread."""

    port: int
    messages: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        parsed = email.message_from_bytes(
            bytes(envelope.original_content or b""), policy=email.policy.default
        )
        assert isinstance(parsed, EmailMessage)
        auth = session.auth_data
        login = auth.login.decode() if isinstance(auth, LoginPassword) else None
        self.messages.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos), parsed, login))
        return "250 Message accepted for delivery"

    def only(self) -> Received:
        assert len(self.messages) == 1, self.messages
        return self.messages[0]


def _check_login(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    good = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        LOGIN.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=good, handled=False, auth_data=auth_data)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    yield from _receive()


@pytest.fixture
def login_receiver() -> Iterator[Receiver]:
    """A receiver that takes mail only from ``LOGIN`` with ``PASSWORD`` (AUTH over plain SMTP, as an
    internal relay may)."""
    yield from _receive(authenticator=_check_login, auth_required=True, auth_require_tls=False)


def _receive(**options: Any) -> Iterator[Receiver]:
    handler = Receiver(free_port())
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port, **options)
    controller.start()
    try:
        yield handler
    finally:
        controller.stop()


def configure(client: httpx.Client, port: int, **fields: Any) -> httpx.Response:
    body = {
        "SmtpHost": "127.0.0.1",
        "SmtpPort": port,
        "SendEmailFrom": "Argonaut <argonaut@example.com>",
        "EnableSsl": False,
        **fields,
    }
    return client.put(SMTP_PATH, json=body)


def mail_project(client: httpx.Client, **properties: str) -> tuple[Project, str]:
    project = Project(client, [unique("Dev")])
    (dev,) = project.environments
    project.set_steps([mail_step(**properties)])
    return project, dev


def test_the_email_arrives_substituted_with_to_cc_and_bcc(server: ServerProcess, receiver: Receiver) -> None:
    ok(configure(server.client, receiver.port))
    project, dev = mail_project(
        server.client,
        **{
            "Octopus.Action.Email.CC": "Lead <lead@example.com>; qa@example.com",
            "Octopus.Action.Email.Bcc": "audit@example.com",
            "Octopus.Action.Email.Priority": "High",
            "Octopus.Action.Email.IsHtml": "True",
        },
    )
    task, raw = project.deploy_and_wait(project.release("1.2.3"), dev)
    assert task["State"] == "Success", raw
    got = receiver.only()
    name = project.project["Name"]
    assert got.message["Subject"] == f"Deployed {name} 1.2.3"
    assert got.message.get_content().strip() == f"to {dev}"
    assert got.message.get_content_type() == "text/html"
    assert got.sender == "argonaut@example.com"
    assert got.message["From"] == "Argonaut <argonaut@example.com>"
    assert sorted(got.recipients) == sorted(
        ["ops@example.com", "lead@example.com", "qa@example.com", "audit@example.com"]
    )
    assert got.message["To"] == "ops@example.com"
    assert got.message["Cc"] == "Lead <lead@example.com>, qa@example.com"
    assert got.message["Bcc"] is None and "audit@" not in got.message.as_string()  # the envelope only
    assert got.message["X-Priority"] == "1"
    assert "Sending email to ops@example.com; CC Lead <lead@example.com>, qa@example.com; " in raw
    assert f"(subject 'Deployed {name} 1.2.3')" in raw
    assert "The email was sent" in raw


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # loopback, on purpose
def test_the_stored_password_logs_in_and_is_shown_nowhere(
    server: ServerProcess, login_receiver: Receiver
) -> None:
    shown = ok(
        configure(server.client, login_receiver.port, SmtpLogin=LOGIN, SmtpPassword={"NewValue": PASSWORD})
    )
    assert shown["SmtpPassword"] == {"HasValue": True, "NewValue": None}
    read = server.client.get(SMTP_PATH)
    assert ok(read)["SmtpPassword"] == {"HasValue": True, "NewValue": None}
    assert PASSWORD not in read.text and PASSWORD.encode() not in server.stored_content()
    project, dev = mail_project(server.client, **{"Octopus.Action.Email.Subject": "token #{Token}"})
    project.set_variables([{"Name": "Token", "Value": "tok-31337-hidden", "IsSensitive": True}])
    task, raw = project.deploy_and_wait(project.release("1.0.0"), dev)
    assert task["State"] == "Success", raw
    got = login_receiver.only()
    assert got.login == LOGIN
    assert got.message["Subject"] == "token tok-31337-hidden"  # the receiver gets the real value
    assert "(subject 'token ********')" in raw and "tok-31337-hidden" not in raw  # the log does not
    assert PASSWORD not in raw

    # A PUT that leaves NewValue out keeps the password; a wrong one is refused by the receiver, and the
    # failure names its answer.
    ok(configure(server.client, login_receiver.port, SmtpLogin=LOGIN, SmtpPassword={"HasValue": True}))
    task, raw = project.deploy_and_wait(project.release("1.0.1"), dev)
    assert task["State"] == "Success", raw
    ok(configure(server.client, login_receiver.port, SmtpLogin=LOGIN, SmtpPassword={"NewValue": "wrong-pw"}))
    task, raw = project.deploy_and_wait(project.release("1.0.2"), dev)
    assert task["State"] == "Failed", raw
    assert "refused the login: 535" in str(task["ErrorMessage"]), task
    assert "wrong-pw" not in raw and len(login_receiver.messages) == 2


def test_without_smtp_the_deployment_fails_saying_where_to_set_it(server_factory: Any) -> None:
    srv: ServerProcess = server_factory()
    assert ok(srv.client.get(f"{SMTP_PATH}/isconfigured")) == {"IsConfigured": False}
    assert ok(srv.client.get(SMTP_PATH))["SmtpPort"] == 25
    project, dev = mail_project(srv.client)
    task, raw = project.deploy_and_wait(project.release("1.0.0"), dev)
    assert task["State"] == "Failed", raw
    assert "SMTP is not configured: set it at /api/smtpconfiguration" in str(task["ErrorMessage"])
    assert "SMTP is not configured: set it at /api/smtpconfiguration" in raw


def test_an_unreachable_server_fails_the_step_naming_it(server: ServerProcess) -> None:
    closed = free_port()  # nothing listens there
    ok(configure(server.client, closed, Timeout=5000))
    project, dev = mail_project(server.client)
    task, raw = project.deploy_and_wait(project.release("1.0.0"), dev)
    assert task["State"] == "Failed", raw
    assert f"127.0.0.1:{closed}" in str(task["ErrorMessage"]), task


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"SmtpPort": 0}, "SmtpPort must be between 1 and 65535"),
        ({"SmtpPort": 70000}, "SmtpPort must be between 1 and 65535"),
        ({"SendEmailFrom": "not an address"}, "SendEmailFrom must be an email address"),
        ({"SendEmailFrom": ""}, "SendEmailFrom is required when SmtpHost is set"),
        ({"TlsMode": "Sometimes"}, "TlsMode must be one of None, Implicit, StartTls"),
        ({"Timeout": 0}, "Timeout must be between 1 and 600000"),
        ({"SmtpPort": "twenty-five"}, "SmtpPort"),
    ],
)
def test_a_bad_configuration_is_refused(server: ServerProcess, fields: dict[str, Any], problem: str) -> None:
    before = ok(server.client.get(SMTP_PATH))
    response = configure(server.client, 2525, **fields)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["ErrorMessage"] and any(problem in e for e in body["Errors"]), body
    assert ok(server.client.get(SMTP_PATH)) == before


def test_an_email_step_without_to_is_refused_when_saved(server: ServerProcess) -> None:
    project = Project(server.client, [unique("Dev")])
    url = f"/api/{project.space}/deploymentprocesses/{project.project['DeploymentProcessId']}"
    process = ok(server.client.get(url))
    process["Steps"] = [{"Name": "Mail", "Actions": [{"Name": "Mail", "ActionType": "Octopus.Email"}]}]
    response = server.client.put(url, json=process)
    assert response.status_code == 400, response.text
    assert any("Octopus.Email needs Octopus.Action.Email.To" in e for e in response.json()["Errors"])


def test_tls_from_the_first_byte_and_starttls(server_factory: Any, tmp_path: Path) -> None:
    """``TlsMode: Implicit`` and ``EnableSsl`` off port 465 (STARTTLS), against receivers whose
    certificate the server trusts through ``SSL_CERT_FILE``; the STARTTLS receiver refuses plain mail, so
    TLS really was used."""
    ca_file, server_context = _certificates(tmp_path)
    srv: ServerProcess = server_factory(env={"SSL_CERT_FILE": str(ca_file)})
    implicit = Receiver(free_port())
    starttls = Receiver(free_port())
    controllers = [
        Controller(implicit, hostname="127.0.0.1", port=implicit.port, ssl_context=server_context),
        Controller(
            starttls,
            hostname="127.0.0.1",
            port=starttls.port,
            tls_context=server_context,
            require_starttls=True,
        ),
    ]
    for controller in controllers:
        controller.start()
    try:
        project, dev = mail_project(srv.client)
        shown = ok(configure(srv.client, implicit.port, EnableSsl=True, TlsMode="Implicit"))
        assert (shown["EnableSsl"], shown["TlsMode"]) == (True, "Implicit")
        task, raw = project.deploy_and_wait(project.release("1.0.0"), dev)
        assert task["State"] == "Success", raw
        assert implicit.only().message["Subject"].endswith("1.0.0")

        # Plain SMTP to a receiver that requires STARTTLS is refused, naming its answer...
        ok(configure(srv.client, starttls.port, EnableSsl=False))
        task, raw = project.deploy_and_wait(project.release("1.0.1"), dev)
        assert task["State"] == "Failed" and "530" in str(task["ErrorMessage"]), raw
        # ...and EnableSsl on any port but 465 means STARTTLS.
        shown = ok(configure(srv.client, starttls.port, EnableSsl=True))
        assert shown["TlsMode"] == "StartTls"
        task, raw = project.deploy_and_wait(project.release("1.0.2"), dev)
        assert task["State"] == "Success", raw
        assert starttls.only().message["Subject"].endswith("1.0.2")
    finally:
        for controller in controllers:
            controller.stop()


def _certificates(folder: Path) -> tuple[Path, ssl.SSLContext]:
    """A CA (the file the server trusts) and a certificate it signed for 127.0.0.1 (the receivers')."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "email test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file = folder / "ca.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    chain = folder / "receiver.pem"
    chain.write_bytes(
        leaf.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(chain)
    return ca_file, context
