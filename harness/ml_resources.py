"""The group's machine-learning resources on the simulated core.

On a core, Greengrass downloads each ML resource (a zip in S3, or a SageMaker job's output)
and unpacks it to the resource's local path, which the functions that use it can read. Here
each resource comes from a local file (a zip, a folder, or a single model file), is unpacked
into a temporary directory that stands in for the core's file system, and the functions'
environment values that name a resource's local path are pointed at the unpacked copy.
:mod:`harness.cloud.s3_resources` gets the sources from S3 (moto) instead.

Starting fails with :class:`MLResourceError`, naming the resource, its S3 URI, its
destination and the file, when a source is missing, a zip is corrupt (not a zip, truncated, a
CRC or deflate error) or holds an entry that would land outside the resource's folder
(``../``, an absolute path: zip-slip). Two resources at the same destination, or one inside
another's, never get here: the group's validation refuses them when it is loaded.
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path

from harness.group import Group, MLResource

#: Where the project's own trained models are (ml/artifacts), looked up by resource name.
LOCAL_ARTIFACTS = Path(__file__).resolve().parents[1] / "ml" / "artifacts"


class MLResourceError(ValueError):
    """A resource could not be put in place: the simulated core does not start."""


def local_sources(group: Group, folder: Path = LOCAL_ARTIFACTS) -> dict[str, Path]:
    """The group's resources found in ``folder`` as ``<name>.zip``, ``<name>/`` or
    ``<name>.<suffix>`` (a single model file)."""
    found = {}
    for resource in group.ml_resources:
        candidates = [folder / f"{resource.name}.zip", folder / resource.name,
                      *sorted(folder.glob(f"{resource.name}.*"))]
        for candidate in candidates:
            if candidate.exists():
                found[resource.name] = candidate
                break
    return found


class UnpackedResources:
    """Every ML resource of a group, unpacked below one temporary root."""

    def __init__(self, group: Group, sources: Mapping[str, str | Path]) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="gg-sim-ml-"))
        self.paths: dict[str, Path] = {}  # the resource's local path on the core -> here
        try:
            for resource in group.ml_resources:
                if resource.name not in sources:
                    raise MLResourceError(
                        f"ML resource {resource.name!r} ({resource.s3_uri} -> "
                        f"{resource.destination}) has no local source: pass "
                        f"ml_resources={{{resource.name!r}: <zip, folder or file>}}")
                target = self.root / resource.destination.lstrip("/")
                _unpack(resource, Path(sources[resource.name]), target)
                self.paths[resource.destination] = target
        except BaseException:
            self.close()
            raise

    def local_path(self, value: str, destinations: Iterable[str] | None = None) -> str:
        """``value`` with a resource's local path on the core replaced by the unpacked copy
        (only the resources at ``destinations``, when given: those a function may read)."""
        allowed = self.paths if destinations is None else {
            d: self.paths[d] for d in destinations if d in self.paths}
        for destination, target in allowed.items():
            if value == destination or value.startswith(destination.rstrip("/") + "/"):
                return str(target) + value[len(destination.rstrip("/")):]
        return value

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _unpack(resource: MLResource, source: Path, target: Path) -> None:
    """Put ``source`` (a zip, a folder or a single file) in place at ``target``, as the core
    puts a downloaded resource at its destination."""
    where = f"ML resource {resource.name!r} ({resource.s3_uri} -> {resource.destination})"
    if not source.exists():
        raise MLResourceError(f"{where}: {source} does not exist")
    target.mkdir(parents=True)
    if source.is_dir():
        shutil.copytree(source, target, dirs_exist_ok=True)
    elif source.suffix == ".zip":
        _unzip(where, resource.destination, source, target)
    else:
        shutil.copy2(source, target / source.name)


#: What reading a damaged zip raises: no end record or a truncated one (BadZipFile), a bad
#: CRC-32 (BadZipFile), damaged deflate data (zlib.error), data cut short (EOFError), an
#: encrypted entry (RuntimeError) or an unknown compression method (NotImplementedError).
_CORRUPT_ZIP = (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError)


def _unzip(where: str, destination: str, source: Path, target: Path) -> None:
    """Check every entry (a name that stays in ``target``, a header and data that match their
    CRC-32) before extracting any, so a bad zip leaves nothing half unpacked."""
    inside = target.resolve()
    try:
        with zipfile.ZipFile(source) as archive:
            for member in archive.namelist():
                if not (inside / member).resolve().is_relative_to(inside):
                    raise MLResourceError(
                        f"{where}: {source} holds {member!r}, outside the resource's folder "
                        f"{destination} (zip-slip)")
            damaged = archive.testzip()
            if damaged is not None:
                raise MLResourceError(f"{where}: {source} is not a valid zip ({damaged!r} "
                                      "fails its CRC-32 or header check)")
            archive.extractall(target)
    except _CORRUPT_ZIP as error:
        raise MLResourceError(f"{where}: {source} is not a valid zip ({error})") from None
    except OSError as error:
        raise MLResourceError(
            f"{where}: {source} cannot be unpacked to {destination}: {error}") from None
