#!/usr/bin/env python3
"""Decrypt a CIFS credential with the MAIA CIFS private key.

MAIA stores the username and password of a CIFS share encrypted with the
public half of CONFIG_FOLDER/cifs_key (RSA-OAEP with SHA-256, base64
encoded). The flexVolume driver ``cifs`` beside this file calls ``decrypt``;
run alone it prints the plaintext:

    decrypt_string.py private_key.pem <base64 ciphertext>

Written for maia-salt; needs python3-cryptography.
"""
import base64
import binascii
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


def decrypt(key_path, ciphertext_b64):
    """Plaintext of ``ciphertext_b64`` (RSA-OAEP SHA-256, base64)."""
    key = load_private_key(key_path)
    try:
        ciphertext = base64.b64decode(ciphertext_b64.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise DecryptError("ciphertext is not valid base64") from None
    oaep = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)
    try:
        return key.decrypt(ciphertext, oaep).decode("utf-8")
    except ValueError:
        raise DecryptError("decryption failed: wrong key or not RSA-OAEP/SHA-256 data") from None


def main(argv):
    if len(argv) != 3:
        print(f"usage: {argv[0]} PRIVATE_KEY_PEM BASE64_CIPHERTEXT", file=sys.stderr)
        return 2
    try:
        print(decrypt(argv[1], argv[2]))
    except (DecryptError, OSError) as exc:
        print(f"decrypt_string: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
