"""Masking of secret values before they reach a state's changes, comment or log.

A host-side library (``_utils/``, see docs/development.md, "Host-side library"): plain
functions, no Salt dunders. ``_modules/maia_secrets.py`` offers them to people
(``salt-call maia_secrets.mask ...``); host modules and states import this module.

A value is secret when its key looks secret: the key, split into words at
``_``, ``-``, ``.``, ``/`` and camelCase boundaries, contains one of
``SECRET_WORDS`` (``adminPassword``, ``adminPass``, ``rootPW``, ``auth``,
``client_secret``, ``tls.key``, ``apiToken``, ``connectionString``,
``dockerconfig``, ``secretKeyRef`` ...). Every value of a Kubernetes Secret's
``data`` and ``stringData`` is secret, whatever its key. Words like ``keycloak`` or ``monkey`` are
not split further, so ``keycloak_url`` stays readable. Callers can name more
keys (``extra_keys``): plain key names (``users``) or dotted paths
(``traefik.dashboard.users``).
"""
import copy
import re

MASK = "<masked>"

SECRET_WORDS = frozenset(
    {
        "password",
        "passwd",
        "passphrase",
        "pwd",
        "secret",
        "secrets",
        "token",
        "tokens",
        "key",
        "keys",
        "apikey",
        "privatekey",
        "credential",
        "credentials",
        "htpasswd",
        "dockerconfigjson",
        "dockerconfig",
        "dockercfg",
        "bcrypt",
        "pass",
        "pw",
        "connectionstring",
    }
)

# Keys secret as a whole word only: ``auth`` (a registry's base64 user:password in a docker config,
# ``auths``), not ``auth.generic_oauth`` or ``authentication`` sections whose settings stay readable
SECRET_WHOLE_KEYS = frozenset({"auth", "auths"})

# Kinds whose data/stringData values are secret whatever their keys (``{"kind": "Secret", "data": {"x": ...}}``)
SECRET_KINDS = frozenset({"Secret"})
SECRET_DATA_KEYS = ("data", "stringData")

_WORD_SPLIT = re.compile(r"[^A-Za-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def _words(key):
    words = []
    for part in _WORD_SPLIT.split(str(key)):
        words.extend(w.lower() for w in _CAMEL.split(part) if w)
    return words


def is_secret_key(key, extra_keys=None):
    """True when ``key`` (one key, not a path) names a secret value.

    """
    if extra_keys and str(key) in _plain_keys(extra_keys):
        return True
    if str(key).lower() in SECRET_WHOLE_KEYS:
        return True
    words = _words(key)
    if any(w in SECRET_WORDS for w in words):
        return True
    # "adminpassword", "clientsecret", "connectionString": one word (or the words joined) with a secret suffix
    joined = "".join(words)
    return any(joined.endswith(w) for w in ("password", "secret", "token", "passwd", "connectionstring", "dockerconfig"))


def _plain_keys(extra_keys):
    return {k for k in (extra_keys or ()) if "." not in str(k)}


def _path_keys(extra_keys):
    return {tuple(str(k).split(".")) for k in (extra_keys or ()) if "." in str(k)}


def is_secret_path(path, extra_keys=None):
    """True when any key along ``path`` (a list of keys, or a dotted string) is
    secret, or the path equals or lies under one of the dotted ``extra_keys``.
    """
    if isinstance(path, str):
        path = path.split(".")
    path = tuple(str(p) for p in path)
    if any(is_secret_key(p, extra_keys) for p in path if not p.isdigit()):
        return True
    return any(path[: len(pk)] == pk or _suffix_match(path, pk) for pk in _path_keys(extra_keys))


def _suffix_match(path, pk):
    # a dotted extra key also matches when it sits below a prefix, so
    # "grafana.adminPassword" matches ["source", "helm", "valuesObject", "grafana", "adminPassword", ...]
    n = len(pk)
    return any(path[i : i + n] == pk for i in range(1, len(path) - n + 1))


def _mask_value(value):
    if value is None or isinstance(value, bool):
        return value
    return MASK


def mask(obj, extra_keys=None, path=()):
    """Return a deep copy of ``obj`` with every secret value replaced by ``<masked>``.

    A dict or list under a secret key is masked as a whole (its structure too),
    booleans and ``None`` stay (they carry no secret and keep diffs readable).
    """
    path = tuple(path)
    if path and is_secret_path(path, extra_keys):
        return _mask_value(obj)
    if _is_secret_object(obj):
        return {k: ({dk: _mask_value(dv) for dk, dv in v.items()} if k in SECRET_DATA_KEYS and isinstance(v, dict)
                    else _mask_value(v) if k in SECRET_DATA_KEYS else mask(v, extra_keys, path + (str(k),)))
                for k, v in obj.items()}
    if isinstance(obj, dict):
        if _is_secret_pair(obj, extra_keys):
            return {k: (_mask_value(v) if k == "value" else mask(v, extra_keys, path + (str(k),)))
                    for k, v in obj.items()}
        return {k: mask(v, extra_keys, path + (str(k),)) for k, v in obj.items()}
    if isinstance(obj, str) and path and path[-1] == "values":
        parsed = _yaml_mapping(obj)
        if parsed is not None:
            import yaml  # pylint: disable=import-outside-toplevel

            return yaml.safe_dump(mask(parsed, extra_keys), default_flow_style=False, sort_keys=False)
    if isinstance(obj, (list, tuple)):
        return [mask(v, extra_keys, path + (str(i),)) for i, v in enumerate(obj)]
    return copy.deepcopy(obj)


def collect(obj, extra_keys=None, path=()):
    """Return the list of secret string values found in ``obj`` (for scrubbing
    free text such as API error messages that echo an object back)."""
    found = []
    path = tuple(path)
    if path and is_secret_path(path, extra_keys):
        _leaves(obj, found)
        return found
    if _is_secret_object(obj):
        for key in SECRET_DATA_KEYS:
            _leaves(obj.get(key), found)
    if isinstance(obj, dict):
        if _is_secret_pair(obj, extra_keys):
            _leaves(obj.get("value"), found)
        for k, v in obj.items():
            found.extend(collect(v, extra_keys, path + (str(k),)))
    elif isinstance(obj, str) and path and path[-1] == "values":
        parsed = _yaml_mapping(obj)
        if parsed is not None:
            found.extend(collect(parsed, extra_keys))
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            found.extend(collect(v, extra_keys, path + (str(i),)))
    return found


def _is_secret_object(obj):
    """A Kubernetes Secret (any apiVersion): every value of its data/stringData is secret."""
    return isinstance(obj, dict) and obj.get("kind") in SECRET_KINDS and any(k in obj for k in SECRET_DATA_KEYS)


def _is_secret_pair(obj, extra_keys):
    """``{name: ADMIN_PASSWORD, value: ...}`` (helm parameters, env lists): the
    value is secret when the name is."""
    return ("value" in obj and isinstance(obj.get("name"), str)
            and is_secret_key(obj["name"], extra_keys))


def _yaml_mapping(text):
    """A helm ``values`` string parsed as YAML, when it is a mapping."""
    import yaml  # pylint: disable=import-outside-toplevel

    try:
        parsed = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _leaves(obj, found):
    if isinstance(obj, dict):
        for v in obj.values():
            _leaves(v, found)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            _leaves(v, found)
    elif obj is not None and not isinstance(obj, bool):
        text = str(obj)
        if len(text) >= 4:  # shorter values would blank out ordinary words
            found.append(text)


def scrub(text, secrets):
    """Replace every occurrence of each secret string in ``text`` by ``<masked>``.

    Longest first, so a secret that contains another is removed whole.
    """
    text = str(text)
    for secret in sorted({str(s) for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text
