"""HTTPS for the emulator: a throwaway CA and a server certificate, made at every start.

Stripe is only ever reached over TLS, so a client measured against plain http would skip the
handshakes, the encryption and the connection reuse that decide its speed against the real
thing. The emulator therefore makes its own small CA and signs a certificate for ``127.0.0.1``,
``::1`` and ``localhost`` (and the host it serves on, if another), both with SubjectAltName,
since clients match names there and ignore the common name. Only the CA certificate is written
out, for clients to trust (``verify=ca_file``, ``REQUESTS_CA_BUNDLE``); the CA's private key
lives in memory just long enough to sign, so trusting that file cannot let anyone else be
vouched for.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_FILE_NAME = "stripe-emulator-ca.pem"
# The system clock may sit a little behind the one that signed (containers, VMs).
CLOCK_SKEW = datetime.timedelta(days=1)
VALIDITY = datetime.timedelta(days=365)
LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class Certificates:
    ca_pem: bytes
    server_pem: bytes
    server_key_pem: bytes


@dataclass
class ServerTls:
    """The server's TLS context and the CA file clients trust.

    ``cleanup()`` removes the CA file's directory when the emulator made it (no ``ca_file``
    given); a file the caller placed is the caller's to keep.
    """

    context: ssl.SSLContext
    ca_file: Path
    owned_dir: Path | None = None

    def cleanup(self) -> None:
        if self.owned_dir is not None:
            shutil.rmtree(self.owned_dir, ignore_errors=True)
            self.owned_dir = None


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def make_certificates(hosts: tuple[str, ...] = LOCAL_NAMES) -> Certificates:
    """A CA certificate and a server certificate (with its key) for ``hosts``, in PEM.

    P-256 keys: generated in microseconds (RSA takes tens of milliseconds at every start) and
    cheaper to handshake with, which keeps the emulator's own share of a benchmark small.
    """
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "stripe_emulator local CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=False, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    # Strict verifiers (Python 3.13's VERIFY_X509_STRICT among them) want the key usages and
    # the authority key identifier, not just the names.
    server_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(server_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - CLOCK_SKEW)
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.SubjectAlternativeName(
            [_general_name(host) for host in dict.fromkeys(hosts)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(server_key.public_key()),
                       critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return Certificates(
        ca_pem=ca_cert.public_bytes(serialization.Encoding.PEM),
        server_pem=server_cert.public_bytes(serialization.Encoding.PEM),
        server_key_pem=server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()),
    )


def server_context(certificates: Certificates) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2  # as Stripe: TLS 1.2 or later
    # ssl loads a certificate chain from files only; the key's file lives for the load alone,
    # in a directory only this user can read.
    with tempfile.TemporaryDirectory(prefix="stripe-emulator-key-") as directory:
        cert_path = Path(directory, "server.pem")
        key_path = Path(directory, "server-key.pem")
        cert_path.write_bytes(certificates.server_pem)
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as key_file:
            key_file.write(certificates.server_key_pem)
        context.load_cert_chain(cert_path, key_path)
    return context


def make_server_tls(host: str, ca_file: str | os.PathLike[str] | None = None) -> ServerTls:
    """Certificates for the local names and ``host``; the CA written to ``ca_file``, or to a
    new temporary directory when it is None."""
    certificates = make_certificates(LOCAL_NAMES + (host,))
    owned_dir: Path | None = None
    if ca_file is None:
        owned_dir = Path(tempfile.mkdtemp(prefix="stripe-emulator-tls-"))
        path = owned_dir / CA_FILE_NAME
    else:
        path = Path(ca_file)
    try:
        path.write_bytes(certificates.ca_pem)
        context = server_context(certificates)
    except BaseException:
        if owned_dir is not None:
            shutil.rmtree(owned_dir, ignore_errors=True)
        raise
    return ServerTls(context=context, ca_file=path.resolve(), owned_dir=owned_dir)
