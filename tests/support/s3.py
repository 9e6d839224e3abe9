"""moto's S3 server on a loopback port, holding a release published like the real one."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from brainobs.storage.local import VERSIONS
from brainobs.storage.manifest import Manifest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def moto_s3_server() -> Iterator[str]:
    """Run moto's S3 server on 127.0.0.1; yield its endpoint URL."""
    from moto.server import ThreadedMotoServer

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def s3_client(endpoint: str):
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-west-2",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def publish_release(endpoint: str, bucket: str, root: Path) -> dict[tuple[str, str | None], str]:
    """Upload every file under ``root`` to a versioned ``bucket``, as the real release is.

    Data files are uploaded first; each manifest is then rewritten with the object versions
    S3 assigned (as the release pipeline does) and uploaded. Older versions of objects kept
    under ``.versions/<version id>/<key>`` (see :class:`brainobs.storage.local.LocalFetcher`)
    are uploaded first. Returns (key, local version id or None) -> S3 version id.
    """
    client = s3_client(endpoint)
    client.create_bucket(
        Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "us-west-2"}
    )
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    client.put_bucket_policy(Bucket=bucket, Policy=json.dumps(_public_read_policy(bucket)))
    versions: dict[tuple[str, str | None], str] = {}
    older = sorted(p for p in (root / VERSIONS).rglob("*") if p.is_file())
    files = sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith(".") and VERSIONS not in p.parts
    )
    manifests = [p for p in files if "/manifests/" in p.as_posix()]
    # Older object versions (kept under .versions/<version id>/<key>) go up first, so the
    # current files become each key's latest version, as in the real bucket.
    for path in [*older, *(p for p in files if p not in manifests)]:
        relative = path.relative_to(root).parts
        local_version = relative[1] if relative[0] == VERSIONS else None
        key = "/".join(relative[2:] if local_version else relative)
        response = client.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
        versions[(key, local_version)] = response["VersionId"]
    for path in manifests:
        manifest = Manifest.from_path(path)
        restamp = lambda entries: {  # noqa: E731
            k: dataclasses.replace(
                e,
                version_id=versions.get(
                    (e.key, e.version_id), versions.get((e.key, None), e.version_id)
                ),
            )
            for k, e in entries.items()
        }
        manifest = dataclasses.replace(
            manifest,
            metadata_files=restamp(manifest.metadata_files),
            data_files=restamp(manifest.data_files),
        )
        key = path.relative_to(root).as_posix()
        client.put_object(Bucket=bucket, Key=key, Body=manifest.to_json().encode())
    return versions


def _public_read_policy(bucket: str) -> dict[str, object]:
    """The policy of the Allen Institute's open-data buckets: anyone may list and read."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket"],
                "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
            }
        ],
    }
