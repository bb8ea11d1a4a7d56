#!/usr/bin/env python3
"""Decrypt a CIFS credential with the MAIA CIFS private key.

MAIA stores the username and password of a CIFS share encrypted with the
public half of CONFIG_FOLDER/cifs_key: RSA-OAEP with SHA-256 (MGF1 SHA-256),
the ciphertext written as hex, as the MAIA toolkit does; base64 is accepted
too. The flexVolume driver ``cifs`` beside this file calls ``decrypt``; run
alone it prints the plaintext:

    decrypt_string.py private_key.pem <hex or base64 ciphertext>

Written for maia-salt; needs python3-cryptography.
"""
import base64
import binascii
import re
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding


class DecryptError(Exception):
    pass


def load_private_key(path):
    with open(path, "rb") as fh:
        data = fh.read()
    try:
        if data.lstrip().startswith(b"-----BEGIN OPENSSH PRIVATE KEY-----"):
            return serialization.load_ssh_private_key(data, password=None)
        return serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise DecryptError(f"cannot read private key {path}: {exc}") from None


def _ciphertext(text):
    text = text.strip()
    if re.fullmatch(r"(?:[0-9a-fA-F]{2})+", text):
        return bytes.fromhex(text)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise DecryptError("ciphertext is neither hex nor base64") from None


def decrypt(key_path, ciphertext):
    """Plaintext of ``ciphertext`` (RSA-OAEP SHA-256; hex or base64)."""
    key = load_private_key(key_path)
    data = _ciphertext(ciphertext)
    oaep = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    try:
        return key.decrypt(data, oaep).decode("utf-8")
    except ValueError:
        raise DecryptError("decryption failed: wrong key or not RSA-OAEP/SHA-256 data") from None


def main(argv):
    if len(argv) != 3:
        print(f"usage: {argv[0]} PRIVATE_KEY_PEM CIPHERTEXT (hex or base64)", file=sys.stderr)
        return 2
    try:
        print(decrypt(argv[1], argv[2]))
    except (DecryptError, OSError) as exc:
        print(f"decrypt_string: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
