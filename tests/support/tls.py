"""A throwaway PKI for TLS tests, made with the `openssl` command line.

`make_pki(folder)` writes a CA, a server certificate it signs for localhost, 127.0.0.1 and
::1, a second server certificate for another host name, and an unrelated CA. Everything is
generated per run (valid two days), so nothing checked in can expire.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

LOCAL_NAMES = "DNS:localhost,IP:127.0.0.1,IP:::1"


@dataclass(frozen=True)
class PKI:
    ca: Path  # the CA clients are told to trust
    cert: Path  # server certificate for LOCAL_NAMES, signed by `ca`
    key: Path
    other_cert: Path  # signed by `ca`, but for other.example only
    other_key: Path
    stranger_ca: Path  # a CA that signed nothing here


def make_pki(folder: Path) -> PKI:
    """Skips the test when the openssl command line is not installed."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command line is not installed")
    folder.mkdir(parents=True, exist_ok=True)
    ca, ca_key = _self_signed(folder, "ca", "Dojo Test CA")
    stranger_ca, _ = _self_signed(folder, "stranger-ca", "Stranger CA")
    cert, key = _leaf(folder, "server", ca, ca_key, LOCAL_NAMES)
    other_cert, other_key = _leaf(folder, "other", ca, ca_key, "DNS:other.example")
    return PKI(
        ca=ca,
        cert=cert,
        key=key,
        other_cert=other_cert,
        other_key=other_key,
        stranger_ca=stranger_ca,
    )


def _openssl(folder: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True, timeout=60)


def _new_key(name: str) -> list[str]:
    """`openssl req` arguments for a fresh P-256 key, unencrypted, written to NAME.key."""
    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    return ["req", *key, "-keyout", f"{name}.key"]


def _self_signed(folder: Path, name: str, cn: str) -> tuple[Path, Path]:
    ca_ext = ["basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign,cRLSign"]
    _openssl(
        folder,
        *_new_key(name),
        *("-x509", "-out", f"{name}.pem", "-days", "2", "-subj", f"/CN={cn}"),
        *(arg for ext in ca_ext for arg in ("-addext", ext)),
    )
    return folder / f"{name}.pem", folder / f"{name}.key"


def _leaf(folder: Path, name: str, ca: Path, ca_key: Path, names: str) -> tuple[Path, Path]:
    ext = folder / f"{name}.ext"
    ext.write_text(
        f"subjectAltName={names}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n"
    )
    _openssl(folder, *_new_key(name), "-out", f"{name}.csr", "-subj", f"/CN={name}")
    _openssl(
        folder,
        *("x509", "-req", "-in", f"{name}.csr", "-CA", str(ca), "-CAkey", str(ca_key)),
        *("-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", ext.name),
    )
    return folder / f"{name}.pem", folder / f"{name}.key"
