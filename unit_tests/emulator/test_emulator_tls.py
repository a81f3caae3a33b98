"""HTTPS: the emulator's own CA is trusted when given and refused otherwise, its certificate
names the local host, and the stats count connections and handshakes as a client makes them."""

from __future__ import annotations

import ipaddress
import os
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from cryptography import x509

from stripe_emulator import Emulator, EmulatorClient

from .support import QUIET

REPO = Path(__file__).resolve().parents[2]
AUTH = ("sk_test_emulator", "")


@pytest.fixture(scope="module")
def secure() -> Iterator[Emulator]:
    with Emulator(port=0, tls=True, **QUIET) as running:
        yield running


@pytest.fixture
def ca_file(secure: Emulator) -> str:
    secure.client.reset()
    assert secure.ca_file is not None
    return secure.ca_file


def counts(emulator: Emulator) -> tuple[int, int]:
    # Read in process: a control call over the network would add a connection of its own.
    stats = emulator.state.stats
    return stats.connections, stats.tls_handshakes


def test_https_answers_when_the_emulators_ca_is_trusted(secure: Emulator, ca_file: str) -> None:
    assert secure.url.startswith("https://127.0.0.1:")
    secure.client.seed({"customers": 3}, seed=1)
    response = requests.get(f"{secure.url}/v1/customers", auth=AUTH, verify=ca_file, timeout=10)
    assert response.status_code == 200 and len(response.json()["data"]) == 3
    assert secure.client.health()  # the control API: same port, same scheme


def test_https_is_refused_without_the_ca(secure: Emulator, ca_file: str) -> None:
    with pytest.raises(requests.exceptions.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
        requests.get(f"{secure.url}/v1/customers", auth=AUTH, verify=True, timeout=10)
    untrusting = EmulatorClient(secure.url)
    try:
        with pytest.raises(requests.exceptions.SSLError, match="CERTIFICATE_VERIFY_FAILED"):
            untrusting.health()
    finally:
        untrusting.close()
    # And no plain http on the TLS port.
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"http://127.0.0.1:{secure.port}/v1/customers", auth=AUTH, timeout=10)


def test_the_certificate_names_127_0_0_1_and_localhost(secure: Emulator, ca_file: str) -> None:
    context = ssl.create_default_context(cafile=ca_file)
    for name in ("127.0.0.1", "localhost"):
        with socket.create_connection(("127.0.0.1", secure.port), timeout=10) as raw, \
                context.wrap_socket(raw, server_hostname=name) as tls:
            der = tls.getpeercert(binary_form=True)
            assert der is not None
    names = x509.load_der_x509_certificate(der).extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    assert ipaddress.ip_address("127.0.0.1") in names.get_values_for_type(x509.IPAddress)
    # Hostname checking is real: another name is refused.
    with socket.create_connection(("127.0.0.1", secure.port), timeout=10) as raw, \
            pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
        context.wrap_socket(raw, server_hostname="api.stripe.com")


def test_one_session_is_one_connection_and_one_handshake(secure: Emulator, ca_file: str) -> None:
    secure.client.reset_stats()
    with requests.Session() as session:
        for _ in range(5):
            assert session.get(f"{secure.url}/v1/customers", auth=AUTH, verify=ca_file,
                               timeout=10).status_code == 200
    assert counts(secure) == (1, 1)
    for _ in range(3):
        with requests.Session() as session:
            for _ in range(2):
                session.get(f"{secure.url}/v1/customers", auth=AUTH, verify=ca_file, timeout=10)
    assert counts(secure) == (4, 4)
    assert secure.state.stats.requests == 11


def test_a_refused_certificate_is_a_connection_without_a_handshake(
        secure: Emulator, ca_file: str) -> None:
    secure.client.reset_stats()
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{secure.url}/v1/customers", auth=AUTH, verify=True, timeout=10)
    assert counts(secure) == (1, 0)
    assert secure.state.stats.requests == 0


def test_the_stats_answer_has_the_counts_and_reset_clears_them(
        secure: Emulator, ca_file: str) -> None:
    requests.get(f"{secure.url}/v1/customers", auth=AUTH, verify=ca_file, timeout=10)
    control = EmulatorClient(secure.url, ca_file=ca_file)
    fresh = EmulatorClient(secure.url, ca_file=ca_file)
    try:
        control.reset_stats()
        stats = control.stats()  # on the connection kept alive since the reset: nothing new
        assert (stats["connections"], stats["tls_handshakes"]) == (0, 0)
        requests.get(f"{secure.url}/v1/customers", auth=AUTH, verify=ca_file, timeout=10)
        # A new connection is counted before its first request is answered: its own too.
        stats = fresh.stats()
        assert (stats["connections"], stats["tls_handshakes"]) == (2, 2)
    finally:
        control.close()
        fresh.close()


def test_plain_http_counts_connections_and_no_handshakes() -> None:
    with Emulator(port=0, **QUIET) as plain:
        assert plain.url.startswith("http://") and plain.ca_file is None
        plain.client.reset_stats()
        with requests.Session() as session:
            for _ in range(3):
                session.get(f"{plain.url}/v1/customers", auth=AUTH, timeout=10)
        assert counts(plain) == (1, 0)


def test_a_child_process_trusts_the_ca_through_requests_ca_bundle(
        secure: Emulator, ca_file: str) -> None:
    probe = "import requests, sys; print(requests.get(sys.argv[1], timeout=10).json()['ok'])"
    url = f"{secure.url}/_emulator/health"
    trusted = subprocess.run([sys.executable, "-c", probe, url], capture_output=True, text=True,
                             env={**os.environ, "REQUESTS_CA_BUNDLE": ca_file}, timeout=60)
    assert trusted.stdout.strip() == "True", trusted.stderr
    env = {k: v for k, v in os.environ.items() if k not in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")}
    untrusted = subprocess.run([sys.executable, "-c", probe, url], capture_output=True, text=True,
                               env=env, timeout=60)
    assert untrusted.returncode != 0 and "CERTIFICATE_VERIFY_FAILED" in untrusted.stderr


def test_a_given_ca_file_is_written_there_and_kept(tmp_path: Path) -> None:
    path = tmp_path / "ca.pem"
    with Emulator(port=0, tls=True, ca_file=path, **QUIET) as emulator:
        assert emulator.ca_file == str(path.resolve())
        assert requests.get(f"{emulator.url}/v1/customers", auth=AUTH, verify=str(path),
                            timeout=10).status_code == 200
    assert path.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    # Each start makes a new CA: a stale file is no use against another run.
    with Emulator(port=0, tls=True, **QUIET) as other:
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(f"{other.url}/v1/customers", auth=AUTH, verify=str(path), timeout=10)
        made = other.ca_file
        assert made is not None and Path(made).exists()
    assert not Path(made).exists()  # the emulator's own temporary CA goes with it


def test_ca_file_needs_tls() -> None:
    with pytest.raises(ValueError, match="tls=True"):
        Emulator(ca_file="ca.pem")


@pytest.mark.parametrize("given", [False, True])
def test_the_command_line_with_tls_prints_its_url_then_its_ca(tmp_path: Path, given: bool) -> None:
    args = [sys.executable, "-m", "stripe_emulator", "--port", "0", "--tls", "--no-rate-limit",
            "--seed", "customers=4", "--random-seed", "1"]
    if given:
        args += ["--ca-file", str(tmp_path / "ca.pem")]
    with subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as process:
        try:
            assert process.stdout is not None
            url = process.stdout.readline().strip()
            assert url.startswith("https://127.0.0.1:"), \
                process.stderr.read() if process.stderr else url
            ca = process.stdout.readline().strip()
            if given:
                assert ca == str((tmp_path / "ca.pem").resolve())
            response = requests.get(f"{url}/v1/customers", auth=AUTH, verify=ca, timeout=10)
            assert response.status_code == 200 and len(response.json()["data"]) == 4
            control = EmulatorClient(url, ca_file=ca)
            assert control.config()["rate_limit"] is False
            control.close()
        finally:
            process.terminate()
            process.wait(timeout=10)
    assert process.returncode == 0
    assert Path(ca).exists() == given  # a temporary CA is removed at exit, a given one kept
