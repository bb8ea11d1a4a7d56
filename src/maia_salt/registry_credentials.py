"""Private registry credentials, in every form a MAIA site may hold them.

The MAIA toolkit (``MAIA_install_core_toolkit``) reads ``JSON_KEY_PATH`` as a
JSON object with ``username``/``password``; a file that is not such an object
is a registry key used with the user ``_json_key`` (a Google service-account
key, for example). The Ansible collection's documentation names
``harbor_username``/``harbor_password`` instead. All are read here;
``maia-configure`` always writes the toolkit's form.
"""
from __future__ import annotations

import json
from pathlib import Path

KEY_FILE_USER = "_json_key"
FILE_NAME = "maia-registry-credentials.json"


class CredentialsError(ValueError):
    """The key file cannot be read; the message names it and the fix."""


def parse_key_file(text: str, where: str) -> tuple[str, str]:
    """(username, password) from the content of a JSON_KEY_PATH file."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return KEY_FILE_USER, text
    if not isinstance(data, dict):
        return KEY_FILE_USER, text
    for user_key, password_key in (("username", "password"), ("harbor_username", "harbor_password")):
        if user_key in data or password_key in data:
            user, password = data.get(user_key, ""), data.get(password_key, "")
            for key, value in ((user_key, user), (password_key, password)):
                if not isinstance(value, str):
                    raise CredentialsError(f"{where}: {key} is {value!r}, not a string: write it as a JSON string")
            return user, password
    return KEY_FILE_USER, text


def read_key_file(path) -> tuple[str, str]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CredentialsError(f"JSON_KEY_PATH={str(path)!r} cannot be read ({exc}): give a readable key file") from None
    return parse_key_file(text, str(path))


def toolkit_form(username: str, password: str) -> dict:
    """The file content the MAIA toolkit reads."""
    return {"username": username, "password": password}
