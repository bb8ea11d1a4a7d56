"""MinIO stand-in: the S3 bucket calls and the admin API's canned-policy calls stage 4 makes.

Over HTTPS (``HttpsServiceStandin``), as a MinIO tenant behind its ``minio-api.<domain>`` ingress.
Every request must carry an AWS Signature Version 4 ``Authorization`` header that MinIO would
accept: algorithm ``AWS4-HMAC-SHA256``, a credential scope ``<date>/us-east-1/s3/aws4_request``
of a known access key, ``host`` and ``x-amz-date`` among the signed headers, a date within 15
minutes, an ``x-amz-content-sha256`` that is the body's hash (or ``UNSIGNED-PAYLOAD``), and the
signature recomputed with the access key's secret. Otherwise 403 (``InvalidAccessKeyId``,
``SignatureDoesNotMatch``, ``RequestTimeTooSkewed``, ``AccessDenied``), as MinIO answers.

S3 (XML errors): ``HEAD /<bucket>`` (200, or 404 without a body), ``PUT /<bucket>`` (200, or 409
``BucketAlreadyOwnedByYou``), ``GET /`` (the bucket list).
Admin API v3 (JSON errors): ``GET /minio/admin/v3/info-canned-policy?name=`` (the policy document
as MinIO stores it, or 404 ``XMinioAdminNoSuchPolicy``), ``PUT .../add-canned-policy?name=``
(plain JSON body; MinIO does not encrypt it; 400 ``XMinioMalformedJSON`` /
``XMinioAdminPolicyEmpty``), ``GET .../list-canned-policies``. MinIO's built-in policies
(``consoleAdmin``, ``readwrite``, ...) are there from the start.

Not emulated: objects, other admin calls (the encrypted ones: users, service accounts, config),
region discovery (``GET /<bucket>?location``: clients must name region ``us-east-1``), policy
attachment. The query string is canonicalised from the parsed query, so a parameter with an
empty value is not signed as a client signs it. See docs/standins.md.
"""
from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import re
from urllib.parse import quote

from .https_service import HttpsServiceStandin, ServiceError, current

REGION = "us-east-1"
ADMIN_PREFIX = "/minio/admin/v3/"
BUILTIN_POLICIES = {
    "consoleAdmin": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["admin:*"]}, {"Effect": "Allow", "Action": ["kms:*"]},
        {"Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::*"]}]},
    "readwrite": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::*"]}]},
}
_AUTH = re.compile(r"AWS4-HMAC-SHA256 Credential=([^/,]+)/(\d{8})/([^/,]*)/([^/,]+)/aws4_request,\s*"
                   r"SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def _s3_error(status, code, message):
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>'
    return ServiceError(status, body)


def _admin_error(status, code, message):
    return ServiceError(status, {"Code": code, "Message": message})


def _canonical_query(query):
    pairs = sorted((quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, values in query.items() for v in values)
    return "&".join(f"{k}={v}" for k, v in pairs)


def _signing_key(secret, day, region, service):
    key = f"AWS4{secret}".encode()
    for part in (day, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


class MinioStandin(HttpsServiceStandin):
    """MinIO on ``https://<names[0]>:<port>``. ``credentials``: ``{access_key: secret_key}`` (or a
    callable giving it, asked at each request: the lab reads the site's folder late)."""

    def __init__(self, names, credentials, **kwargs):
        super().__init__(names, **kwargs)
        self._credentials = credentials
        self.buckets: set[str] = set()
        self.policies = {name: json.loads(json.dumps(doc)) for name, doc in BUILTIN_POLICIES.items()}

    # ---- authentication -------------------------------------------------------------
    def _authenticate(self, request, error):
        match = _AUTH.match(request.headers.get("Authorization") or "")
        if not match:
            raise error(403, "AccessDenied", "Access Denied.")
        access_key, day, region, service, signed, signature = match.groups()
        creds = current(self._credentials)
        if access_key not in creds:
            raise error(403, "InvalidAccessKeyId", "The Access Key Id you provided does not exist in our records.")
        if region != REGION or service != "s3":
            raise error(403, "AuthorizationHeaderMalformed", f"unexpected credential scope {region}/{service}")
        names = signed.split(";")
        amz_date = request.headers.get("x-amz-date") or ""
        if "host" not in names or "x-amz-date" not in names or not amz_date.startswith(day):
            raise error(403, "AccessDenied", "host and x-amz-date must be signed")
        try:
            when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
        except ValueError:
            raise error(403, "AccessDenied", "invalid x-amz-date") from None
        if abs((datetime.datetime.now(datetime.timezone.utc) - when).total_seconds()) > 900:
            raise error(403, "RequestTimeTooSkewed", "The difference between the request time and the server's time is too large.")
        payload = request.headers.get("x-amz-content-sha256") or ""
        if payload != "UNSIGNED-PAYLOAD" and payload != hashlib.sha256(request.body).hexdigest():
            raise error(400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.")
        headers = "".join(f"{n}:{' '.join((request.headers.get(n) or '').split())}\n" for n in names)
        canonical = "\n".join([request.method, quote(request.path, safe="/-_.~%"), _canonical_query(request.query),
                               headers, signed, payload])
        scope = f"{day}/{region}/{service}/aws4_request"
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
        expected = hmac.new(_signing_key(creds[access_key], day, region, service), to_sign.encode(),
                            hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature):
            raise error(403, "SignatureDoesNotMatch",
                        "The request signature we calculated does not match the signature you provided.")

    # ---- requests ---------------------------------------------------------------------
    def handle(self, request):
        if request.path.startswith(ADMIN_PREFIX):
            self._authenticate(request, _admin_error)
            return self._admin(request, request.path[len(ADMIN_PREFIX):])
        try:
            self._authenticate(request, _s3_error)
            return self._s3(request)
        except ServiceError as exc:  # S3 errors are XML documents, and say so
            return exc.status, exc.body, {"Content-Type": "application/xml"}

    def _s3(self, request):
        parts = [p for p in request.path.split("/") if p]
        if not parts:
            if request.method != "GET":
                raise _s3_error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")
            items = "".join(f"<Bucket><Name>{b}</Name><CreationDate>2026-01-01T00:00:00.000Z</CreationDate></Bucket>"
                            for b in sorted(self.buckets))
            return 200, f"<ListAllMyBucketsResult><Buckets>{items}</Buckets></ListAllMyBucketsResult>", \
                {"Content-Type": "application/xml"}
        if len(parts) > 1 or request.query:
            raise _s3_error(501, "NotImplemented", "the stand-in serves bucket HEAD and PUT only")
        bucket = parts[0]
        if request.method == "HEAD":
            if bucket not in self.buckets:
                raise ServiceError(404, b"")
            return 200, b""
        if request.method == "PUT":
            if not _BUCKET.match(bucket) or ".." in bucket:
                raise _s3_error(400, "InvalidBucketName", "The specified bucket is not valid.")
            if bucket in self.buckets:
                raise _s3_error(409, "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it.")
            self.buckets.add(bucket)
            return 200, b"", {"Location": f"/{bucket}"}
        raise _s3_error(405, "MethodNotAllowed", "The specified method is not allowed against this resource.")

    def _admin(self, request, command):
        name = (request.query.get("name") or [""])[0]
        if command == "list-canned-policies" and request.method == "GET":
            return 200, self.policies
        if command == "info-canned-policy" and request.method == "GET":
            if name not in self.policies:
                raise _admin_error(404, "XMinioAdminNoSuchPolicy", "The canned policy does not exist.")
            return 200, self.policies[name]
        if command == "add-canned-policy" and request.method == "PUT":
            if not name or "," in name:
                raise _admin_error(400, "XMinioInvalidIAMCredentials", "invalid policy name")
            if not request.body:
                raise _admin_error(400, "XMinioAdminPolicyEmpty", "Policy is empty.")
            document = self.json_body(request)
            if not self._valid_policy(document):
                raise _admin_error(400, "XMinioMalformedJSON", "The policy document is not a valid IAM policy.")
            self.policies[name] = document
            return 200, b""
        raise _admin_error(400, "XMinioAdminUnsupported", f"{request.method} {command} is not served by the stand-in")

    @staticmethod
    def _valid_policy(document):
        if not isinstance(document, dict) or document.get("Version") not in ("2012-10-17", "2008-10-17"):
            return False
        statements = document.get("Statement")
        return isinstance(statements, list) and bool(statements) and all(
            isinstance(s, dict) and s.get("Effect") in ("Allow", "Deny") and s.get("Action") for s in statements)
