"""The group's ML resources from S3, as a Greengrass core gets them (boto3; moto in tests).

On Greengrass V1 each ML resource is a zip (or tar.gz) at an S3 URI that the deployment
downloads and unpacks to the resource's destination path on the core; on V2 the same zip is
a component artifact that the nucleus downloads from S3 and unpacks (``Unarchive: ZIP``).
Here :func:`s3_sources` downloads each resource's zip from its ``s3_uri`` into a folder,
and the result is what ``Simulation.from_group(..., ml_resources=...)`` takes, so the
simulated core unpacks it when it starts (:mod:`harness.ml_resources`)::

    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        upload_artifacts(s3, group)                       # ml/artifacts -> the group's URIs
        sim = Simulation.from_group(path, ml_resources=s3_sources(group, s3, tmp_dir))

A missing bucket or object, or a refused download, fails with :class:`S3ResourceError`
naming the resource, the URI and the cause. :func:`bucket_warnings` says which resources
the default Greengrass service role could not read; :func:`s3_sources` emits them as
:class:`ServiceRoleWarning`.
"""

from __future__ import annotations

import io
import re
import shutil
import warnings
import zipfile
from collections.abc import Iterable
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import BotoCoreError, ClientError

from harness.group import Group, MLResource
from harness.ml_resources import LOCAL_ARTIFACTS, MLResourceError, local_sources

#: The managed policy of the default Greengrass service role.
SERVICE_ROLE_POLICY = "AWSGreengrassResourceAccessRolePolicy"

#: The S3 objects that policy (version v5, statement ``AllowGreengrassAccessToS3Objects``)
#: lets ``s3:GetObject`` read: object ARNs (``arn:aws:s3:::<bucket>/<key>``) containing
#: "greengrass" or "sagemaker" in exactly these spellings. IAM wildcards are
#: case-sensitive, so ``GREENGRASS`` or ``greenGrass`` match none of them. Source: the AWS
#: Managed Policy Reference, https://docs.aws.amazon.com/aws-managed-policy/latest/
#: reference/AWSGreengrassResourceAccessRolePolicy.html
SERVICE_ROLE_S3_OBJECTS = (
    "arn:aws:s3:::*Greengrass*",
    "arn:aws:s3:::*GreenGrass*",
    "arn:aws:s3:::*greengrass*",
    "arn:aws:s3:::*Sagemaker*",
    "arn:aws:s3:::*SageMaker*",
    "arn:aws:s3:::*sagemaker*",
)

#: What each S3 error code means for a resource's download.
_CAUSES = {
    "NoSuchBucket": "the bucket {bucket!r} does not exist",
    "NoSuchKey": "the bucket {bucket!r} has no object {key!r}",
    "AccessDenied": "access denied: the caller may not s3:GetObject {arn}",
}


class S3ResourceError(MLResourceError):
    """An ML resource's zip could not be downloaded from S3: the simulated core does not
    start."""


class ServiceRoleWarning(UserWarning):
    """An ML resource's S3 object is not readable under the default Greengrass service
    role policy."""


# ---------------------------------------------------------------- the service role


@cache
def _partition(region: str) -> str:
    """``region``'s ARN partition (``aws``, ``aws-cn``, ``aws-us-gov``...), per botocore."""
    import botocore.session
    from botocore.exceptions import UnknownRegionError

    try:
        return botocore.session.get_session().get_partition_for_region(region)
    except UnknownRegionError:
        return "aws"


def object_arn(resource: MLResource, region: str = "us-east-1") -> str:
    """The ARN of ``resource``'s S3 object (``arn:aws:s3:::<bucket>/<key>``; the
    partition is the one of ``region``, e.g. ``aws-cn`` for cn-north-1)."""
    return f"arn:{_partition(region)}:s3:::{resource.bucket}/{resource.key}"


def _iam_match(pattern: str, value: str) -> bool:
    """Whether ``value`` matches an IAM resource pattern: ``*`` any run of characters,
    ``?`` any one, everything else literally and case-sensitively."""
    regex = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern
    )
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


def service_role_patterns(region: str = "us-east-1") -> tuple[str, ...]:
    """:data:`SERVICE_ROLE_S3_OBJECTS` in ``region``'s partition (the managed policy in
    the aws-cn or aws-us-gov partition is assumed to list the same names)."""
    partition = _partition(region)
    return tuple(p.replace("arn:aws:", f"arn:{partition}:", 1) for p in SERVICE_ROLE_S3_OBJECTS)


def service_role_can_read(arn: str, region: str = "us-east-1") -> bool:
    """Whether the default Greengrass service role policy allows ``s3:GetObject`` on the
    object ``arn``. The whole ARN counts, key included, as in IAM: a key containing
    "greengrass" is readable in any bucket."""
    return any(_iam_match(pattern, arn) for pattern in service_role_patterns(region))


def bucket_warnings(group: Group) -> list[str]:
    """One message for each of the group's ML resources whose S3 object the default
    Greengrass service role policy does not let ``s3:GetObject`` read: which resource, which
    ARN, what the policy allows and what to do."""
    patterns = service_role_patterns(group.region)
    messages = []
    for resource in group.ml_resources:
        arn = object_arn(resource, group.region)
        if service_role_can_read(arn, group.region):
            continue
        messages.append(
            f"ML resource {resource.name!r}: {arn} ({resource.s3_uri}) is not readable under "
            f"the default Greengrass service role policy: {SERVICE_ROLE_POLICY} allows "
            f"s3:GetObject only on {', '.join(patterns)} (case-sensitive). Rename the bucket "
            "to contain 'greengrass' or 'sagemaker', or grant s3:GetObject on it to the role "
            "that downloads it (the Greengrass service role on V1; on V2 the core's token "
            "exchange role, which has no S3 access by default)."
        )
    return messages


# ---------------------------------------------------------------- downloading


def s3_sources(
    group: Group, s3_client: BaseClient, download_dir: str | Path
) -> dict[str, Path]:
    """Download each of the group's ML resources from its ``s3_uri`` with ``s3_client``
    into ``download_dir/<name>/<key's file name>``: ``{name: zip}``, ready for
    ``Simulation.from_group(..., ml_resources=...)``, which unpacks them when the core
    starts. Emits :func:`bucket_warnings` as :class:`ServiceRoleWarning` first; raises
    :class:`S3ResourceError` (the resource, the URI, the cause) when one cannot be had."""
    for message in bucket_warnings(group):
        warnings.warn(message, ServiceRoleWarning, stacklevel=2)
    sources: dict[str, Path] = {}
    for resource in group.ml_resources:
        path = Path(download_dir) / resource.name / PurePosixPath(resource.key).name
        path.parent.mkdir(parents=True, exist_ok=True)
        _download(s3_client, resource, path, group.region)
        sources[resource.name] = path
    return sources


def _download(s3_client: BaseClient, resource: MLResource, path: Path, region: str) -> None:
    where = f"ML resource {resource.name!r}: cannot download {resource.s3_uri}"
    try:
        response = s3_client.get_object(Bucket=resource.bucket, Key=resource.key)
        with path.open("wb") as out:
            shutil.copyfileobj(response["Body"], out)
    except ClientError as error:
        path.unlink(missing_ok=True)
        details = error.response.get("Error", {})
        code = str(details.get("Code", "unknown"))
        cause = _CAUSES.get(code, str(details.get("Message") or error)).format(
            bucket=resource.bucket, key=resource.key, arn=object_arn(resource, region))
        raise S3ResourceError(
            f"{where} ({resource.destination} on the core): {code}: {cause}") from error
    except BotoCoreError as error:
        path.unlink(missing_ok=True)
        raise S3ResourceError(
            f"{where} ({resource.destination} on the core): {error}") from error


# ---------------------------------------------------------------- uploading


def upload_artifacts(
    s3_client: BaseClient, group: Group, artifacts_dir: str | Path = LOCAL_ARTIFACTS
) -> dict[str, str]:
    """Put the group's ML resources in S3 where their ``s3_uri`` says, creating missing
    buckets (in the client's region): for tests and the demo. Each comes from
    ``artifacts_dir``: the file named like the URI's key (``standardiser.zip``), else the
    resource's ``<name>.zip``, ``<name>/`` or ``<name>.<suffix>``; a folder or a single
    file is zipped with its contents at the zip root, as Greengrass ML resources are.
    Returns ``{name: s3_uri}``."""
    folder = Path(artifacts_dir)
    by_name = local_sources(group, folder)
    region = s3_client.meta.region_name
    for bucket in sorted({resource.bucket for resource in group.ml_resources}):
        _ensure_bucket(s3_client, bucket, region)
    uploaded = {}
    for resource in group.ml_resources:
        named_like_key = folder / PurePosixPath(resource.key).name
        source = named_like_key if named_like_key.is_file() else by_name.get(resource.name)
        if source is None:
            raise FileNotFoundError(
                f"ML resource {resource.name!r}: nothing in {folder} to upload to "
                f"{resource.s3_uri} (looked for {named_like_key.name}, {resource.name}.zip, "
                f"{resource.name}/ and {resource.name}.*)")
        s3_client.put_object(Bucket=resource.bucket, Key=resource.key, Body=_zip_of(source))
        uploaded[resource.name] = resource.s3_uri
    return uploaded


def _ensure_bucket(s3_client: BaseClient, bucket: str, region: str | None) -> None:
    try:
        s3_client.head_bucket(Bucket=bucket)
        return
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
            raise
    options: dict[str, Any] = {}
    if region and region != "us-east-1":
        options["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3_client.create_bucket(Bucket=bucket, **options)


def _zip_of(source: Path) -> bytes:
    """``source`` as zip bytes: a zip as it is; a folder's contents or a single file at the
    zip root otherwise."""
    if source.is_file() and source.suffix == ".zip":
        return source.read_bytes()
    files: Iterable[Path] = (
        sorted(p for p in source.rglob("*") if p.is_file()) if source.is_dir() else [source]
    )
    root = source if source.is_dir() else source.parent
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for file in files:
            archive.write(file, file.relative_to(root).as_posix())
    return buffer.getvalue()
