"""The MinIO stand-in answers as a MinIO tenant does where stage 4 relies on it: every request
signed with AWS SigV4 by a known user (403 otherwise, with MinIO's codes), 404/409 on a missing
or duplicate bucket, the admin API's policy errors, and a record of the writes. The client is the
real ``minio`` SDK (and its own SigV4 signer, for the requests the SDK would not send)."""
import datetime
import hashlib
import json
import sys
from urllib.parse import urlsplit

import pytest
import requests
from minio import Minio, MinioAdmin
from minio.credentials import Credentials, StaticProvider
from minio.error import MinioAdminException, S3Error
from minio.signer import sign_v4_s3

from support.admin_services import ca_pair, ingress, realm_export
from support.paths import REPO

sys.path.insert(0, str(REPO / "_utils"))
import maia_service_endpoint as mse  # noqa: E402

DOMAIN = "site.test"
SECRET = "minio-Admin-0003"


@pytest.fixture(scope="module")
def front(tmp_path_factory):
    standins = ingress(DOMAIN, "harbor-Admin-0002", [realm_export()], ca_pair(), minio_credentials={"maia-admin": SECRET})
    ca = tmp_path_factory.mktemp("ca") / "ca.crt"
    ca.write_text(standins.ca_cert_pem)
    standins.ca_file = str(ca)
    yield standins
    standins.stop()


def clients(front, access_key="maia-admin", secret=SECRET):
    """The SDK's clients for minio-api.<domain>, connected at the ingress's loopback address with
    SNI and the certificate check for the name (maia_service_endpoint.pool_manager)."""
    end = mse.service_endpoint(f"minio-api.{DOMAIN}", port=front.port, ca_file=front.ca_file, address="127.0.0.1",
                               resolve=lambda *_: [])
    pool, host = mse.pool_manager(end, retries=False), end.base_url.removeprefix("https://")
    s3 = Minio(host, access_key=access_key, secret_key=secret, region="us-east-1", http_client=pool)
    admin = MinioAdmin(endpoint=host, credentials=StaticProvider(access_key, secret), region="us-east-1",
                       http_client=pool)
    return s3, admin


def raw(front, method, path, signed_at=None, secret=SECRET, body=b"", sent=None):
    """A request signed by the SDK's own signer, at ``signed_at`` (default now), for ``body``;
    ``sent``: the body actually sent (default ``body``)."""
    url = urlsplit(f"https://127.0.0.1:{front.port}{path}")
    date = signed_at or datetime.datetime.now(datetime.timezone.utc)
    sha = hashlib.sha256(body).hexdigest()
    headers = {"Host": f"minio-api.{DOMAIN}:{front.port}", "x-amz-date": date.strftime("%Y%m%dT%H%M%SZ"),
               "x-amz-content-sha256": sha}
    headers = sign_v4_s3(method=method, url=url._replace(netloc=headers["Host"]), region="us-east-1", headers=headers,
                         credentials=Credentials("maia-admin", secret), content_sha256=sha, date=date)
    return requests.request(method, url.geturl(), headers=headers, data=body if sent is None else sent, timeout=10,
                            verify=front.ca_file)


def test_unsigned_or_wrongly_signed_requests_are_refused(front):
    unsigned = requests.put(f"https://127.0.0.1:{front.port}/unsigned-bucket", timeout=10, verify=front.ca_file,
                            headers={"Host": f"minio-api.{DOMAIN}"})
    assert unsigned.status_code == 403 and "<Code>AccessDenied</Code>" in unsigned.text
    assert raw(front, "PUT", "/wrong-secret", secret="not-it").status_code == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in raw(front, "PUT", "/wrong-secret", secret="not-it").text
    stale = raw(front, "PUT", "/stale", signed_at=datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1))
    assert stale.status_code == 403 and "RequestTimeTooSkewed" in stale.text
    with pytest.raises(MinioAdminException) as err:
        clients(front, access_key="nobody")[1].policy_info("consoleAdmin")
    assert json.loads(err.value._body)["Code"] == "InvalidAccessKeyId"
    assert {"wrong-secret", "stale", "unsigned-bucket"}.isdisjoint(front.minio.buckets)


def test_signed_body_must_match_its_hash(front):
    document = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"]}]})
    path = "/minio/admin/v3/add-canned-policy?name=signed"
    tampered = raw(front, "PUT", path, body=document.encode(), sent=document.replace("GetObject", "*").encode())
    assert tampered.status_code == 400 and json.loads(tampered.text)["Code"] == "XAmzContentSHA256Mismatch"
    assert "signed" not in front.minio.policies
    assert raw(front, "PUT", path, body=document.encode()).status_code == 200  # the stand-in's SigV4 is the SDK's
    assert front.minio.policies["signed"] == json.loads(document)


def test_buckets_head_put_and_duplicate(front):
    s3, _ = clients(front)
    assert s3.bucket_exists("maia-envs-t") is False
    s3.make_bucket("maia-envs-t")
    assert s3.bucket_exists("maia-envs-t") is True
    with pytest.raises(S3Error) as err:
        s3.make_bucket("maia-envs-t")
    assert (err.value.code, err.value.response.status) == ("BucketAlreadyOwnedByYou", 409)
    assert "maia-envs-t" in [b.name for b in s3.list_buckets()]


def test_canned_policies(front):
    _, admin = clients(front)
    assert "Statement" in json.loads(admin.policy_info("consoleAdmin"))
    with pytest.raises(MinioAdminException) as err:
        admin.policy_info("MAIA:t")
    assert (err.value._code, json.loads(err.value._body)["Code"]) == ("404", "XMinioAdminNoSuchPolicy")
    with pytest.raises(MinioAdminException) as err:
        admin.policy_add("MAIA:t", policy={"Version": "2012-10-17", "Statement": []})
    assert json.loads(err.value._body)["Code"] == "XMinioMalformedJSON"
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::*"]}]}
    admin.policy_add("MAIA:t", policy=document)
    assert json.loads(admin.policy_info("MAIA:t")) == document
    assert "MAIA:t" in json.loads(admin.policy_list())


def test_writes_are_recorded_without_reads(front):
    front.minio.reset_requests()
    s3, admin = clients(front)
    s3.bucket_exists("maia-envs-t")
    admin.policy_info("consoleAdmin")
    s3.make_bucket("recorded-bucket")
    assert [(r.method, r.path, r.status) for r in front.minio.writes()] == [("PUT", "/recorded-bucket", 200)]
