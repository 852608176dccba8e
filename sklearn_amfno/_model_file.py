"""The model file's container: one safetensors file, written atomically, read in checked steps.

What ``est.save`` writes and :func:`sklearn_amfno.load` reads, below the estimator tree
(:mod:`sklearn_amfno._persistence`): the tensors, a header whose ``__metadata__`` holds the
format, its version, the estimator description (JSON text) and a SHA-256 checksum of both.
Reading never trusts the file: what the path is (a regular file, after symbolic links), the
8-byte header length against the file's size, the JSON header (nesting bounded) and its format
are checked in that order, each before the next read, and only then are the tensors read and the
checksum compared. Every failure is a ValueError that names the file.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

import safetensors
import safetensors.torch
import torch

from ._file_schema import expect, is_int

FORMAT = "sklearn_amfno"


FORMAT_VERSION = 1


# The one tensor every file has (the format version, again).
FORMAT_TENSOR = "sklearn_amfno.format_version"


# A header larger than this is not one of ours (safetensors' own limit is 100 MB).
_MAX_HEADER_BYTES = 100_000_000


def digest(description: str, tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 of the description and of every tensor's name, dtype, shape and bytes."""
    h = hashlib.sha256()
    h.update(f"{FORMAT}/{FORMAT_VERSION}\n".encode())
    h.update(description.encode())
    for name in sorted(tensors):
        tensor = tensors[name].contiguous()
        h.update(f"\n{name}\n{tensor.dtype}\n{tuple(tensor.shape)}\n".encode())
        # numpy's stubs declare ndarray.__buffer__ for Python >= 3.12 only (mypy checks as 3.10).
        h.update(memoryview(tensor.reshape(-1).view(torch.uint8).numpy()))  # type: ignore[arg-type]
    return h.hexdigest()


def _current_umask() -> int:
    # os.umask can only be read by setting it; done once, at import, before any save runs.
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()


def check_save_path(path: str | os.PathLike) -> Path:
    """The file ``save`` writes; an empty name or a directory is refused before anything else."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike (a file name), got {type(path).__name__}.")
    name = os.fspath(path)
    if not isinstance(name, str):
        raise TypeError(f"path must be a str file name, got {type(name).__name__} {name!r}.")
    if not name:
        raise ValueError("path is empty: save needs a file name, e.g. 'model.safetensors'.")
    if os.path.isdir(name) or name.endswith(os.sep) or (os.altsep and name.endswith(os.altsep)):
        example = os.path.join(name, "model.safetensors")
        raise ValueError(f"{name!r} is a directory: save needs a file name, e.g. {example!r}.")
    return Path(name)


def write_container(path: str | os.PathLike, description: dict, tensors: dict[str, torch.Tensor]) -> None:
    """Write ``description`` and ``tensors`` as one safetensors file, atomically."""
    path = check_save_path(path)
    text = json.dumps(description, sort_keys=True)
    # Never an empty file: safetensors 0.4.0 writes an invalid header when there is no tensor.
    tensors = {FORMAT_TENSOR: torch.tensor([FORMAT_VERSION], dtype=torch.int32), **tensors}
    metadata = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "estimator": text,
        "sha256": digest(text, tensors),
    }
    data = _canonical_header(safetensors.torch.save(tensors, metadata=metadata))
    # Write beside, then rename: a crash never leaves a half-written file under the name. The
    # temporary name is unique (mkstemp), so concurrent saves to one path, from threads or
    # processes, never share it: the last rename wins and the file is always whole.
    tmp = None
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        tmp = Path(name)
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        # mkstemp creates the file private (0o600); give it the mode a plain write would.
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except OSError as error:
        # The user's path, not the temporary file's name, in the message (same OSError subclass).
        raise OSError(
            error.errno, f"cannot save the model to {os.fspath(path)!r}: {error.strerror or error}"
        ) from None
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)


def _canonical_header(data: bytes) -> bytes:
    """The same file with its header's keys sorted: equal models give equal bytes.

    safetensors writes its metadata from a hash map, in an order that changes between runs. The
    tensors' offsets count from the end of the header, so rewriting it (padded to 8 bytes with
    spaces, as safetensors does) leaves them valid.
    """
    n = int.from_bytes(data[:8], "little")
    header = json.dumps(json.loads(data[8 : 8 + n]), sort_keys=True, separators=(",", ":")).encode()
    header += b" " * (-len(header) % 8)
    return len(header).to_bytes(8, "little") + header + data[8 + n :]


# Magic bytes of what joblib.dump(..., compress=...) writes (joblib's own prefixes).
_COMPRESSED = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bz2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x5d\x00\x00", "lzma"),
    (b"\x04\x22\x4d\x18", "lz4"),
)


def _diagnose(data: bytes) -> str:
    """What a file that is not ours seems to be, from its first bytes."""
    if data[:1] == b"\x80" and data[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return (
            "It looks like a pickle (joblib.dump and pickle.dump write these): it was not "
            "unpickled. Load pickles with joblib.load / pickle.load, and only from sources you trust."
        )
    if data[:4] == b"PK\x03\x04":
        return "It looks like a zip archive (torch.save writes these): it was not loaded."
    kind = next((name for magic, name in _COMPRESSED if data.startswith(magic)), None)
    # A zlib stream: deflate method (low nibble 8) and a header that is a multiple of 31.
    if kind is None and len(data) >= 2 and data[0] & 0x0F == 8 and data[0] >> 4 <= 7:
        kind = "zlib" if (data[0] << 8 | data[1]) % 31 == 0 else None
    if kind is not None:
        return (
            f"It looks like a {kind}-compressed file (joblib.dump(..., compress={kind!r}) writes these): "
            "it was not decompressed or unpickled."
        )
    return "It may be truncated, corrupted, or of another format."


# JSON nesting a file may use: the deepest saved value (a meta-estimator's history) is about
# 20 levels deep; deeper is refused before decoding, so nothing recurses without bound.
MAX_DEPTH = 64


def _parse_json(text: str | bytes, what: str) -> Any:
    """``json.loads`` with the nesting bounded: ValueError for invalid or too deeply nested JSON."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise ValueError(f"{what} is nested too deeply (more than {MAX_DEPTH} levels).") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{what} is not valid JSON ({error}).") from None
    stack = [(value, 1)]
    while stack:  # iterative: the check itself must not recurse
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ValueError(f"{what} is nested too deeply (more than {MAX_DEPTH} levels).")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return value


_FILE_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def _refuse_irregular(name: str, mode: int) -> None:
    if not stat.S_ISREG(mode):
        kind = next((text for test, text in _FILE_KINDS if test(mode)), "not a regular file")
        raise ValueError(
            f"{name!r} is {kind}, not a regular file: a model file saved by sklearn_amfno's save is "
            "a regular file. Nothing was read."
        )


def _check_tensor_entries(header: dict, n_data: int, name: str) -> None:
    """The safetensors header's tensor entries describe exactly the ``n_data`` bytes after it."""
    end = 0
    for key, entry in header.items():
        if key == "__metadata__":
            continue
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        shape = entry.get("shape") if isinstance(entry, dict) else None
        if not (
            isinstance(offsets, list)
            and len(offsets) == 2
            and all(is_int(o) and 0 <= o <= n_data for o in offsets)
            and offsets[0] <= offsets[1]
            and isinstance(shape, list)
            and all(is_int(s) and s >= 0 for s in shape)
        ):
            raise ValueError(
                f"{name!r}: the header's entry for the tensor {key!r} is invalid or points past the "
                f"end of the file ({n_data} bytes of tensors): truncated or corrupted."
            )
        end = max(end, offsets[1])
    if end != n_data:
        raise ValueError(
            f"{name!r}: the header describes {end} bytes of tensors, the file holds {n_data}: "
            "truncated or corrupted."
        )


def read_container(path: str | os.PathLike) -> tuple[dict, dict[str, torch.Tensor]]:
    """Check and parse a file: (description, tensors). Every failure is a ValueError.

    Reads in steps, each checked before the next: what the path is (a regular file, after
    symbolic links), the 8-byte header length against the file's size, the JSON header and its
    format, and only then the tensors.
    """
    name = os.fspath(path)
    if isinstance(name, bytes):
        name = os.fsdecode(name)
    if not name:
        raise ValueError("path is empty: load needs the name of a file written by save.")
    _refuse_irregular(name, os.stat(name).st_mode)  # FileNotFoundError for a missing file
    # Non-blocking: should the path become a FIFO after the check, opening it does not hang.
    fd = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(file.fileno())
        _refuse_irregular(name, info.st_mode)
        size = info.st_size
        start = file.read(8)
        not_ours = f"{name!r} is not a model file saved by sklearn_amfno's save ({size} bytes)."
        if size < 8 or len(start) < 8:
            raise ValueError(f"{not_ours} It is too short to be one: truncated? {_diagnose(start)}")
        n_header = int.from_bytes(start, "little")
        if n_header > min(size - 8, _MAX_HEADER_BYTES):
            raise ValueError(
                f"{not_ours} Its first 8 bytes announce a {n_header}-byte safetensors header, longer "
                f"than the file: truncated or another format. {_diagnose(start)}"
            )
        header_bytes = file.read(n_header)
        if len(header_bytes) != n_header:
            raise ValueError(f"{not_ours} It ends inside its header: truncated.")
        if not header_bytes.lstrip()[:1] == b"{":
            raise ValueError(f"{not_ours} Its header is not a JSON object. {_diagnose(start + header_bytes)}")
        try:
            header = _parse_json(header_bytes.decode("utf-8"), "Its header")
        except UnicodeDecodeError as error:
            raise ValueError(f"{not_ours} Its header is not UTF-8 ({error}).") from None
        except ValueError as error:
            raise ValueError(f"{not_ours} {error}") from None
        metadata = header.get("__metadata__") if isinstance(header, dict) else None
        if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
            raise ValueError(
                f"{not_ours} It is a safetensors file, but its metadata do not say format={FORMAT!r}: "
                "weights saved by other tools are not estimators."
            )
        version = metadata.get("format_version")
        if not (isinstance(version, str) and version.isdigit() and len(version) < 6):
            raise ValueError(f"{name!r}: unreadable format_version {version!r}.")
        if int(version) > FORMAT_VERSION or int(version) < 1:
            raise ValueError(
                f"{name!r} has format version {version}; this sklearn_amfno reads versions 1 to "
                f"{FORMAT_VERSION}. Upgrade sklearn_amfno to load it (or save it again with this one)."
            )
        for key in ("estimator", "sha256"):
            if not isinstance(metadata.get(key), str):
                raise ValueError(f"{name!r}: the metadata key {key!r} is missing.")
        _check_tensor_entries(header, size - 8 - n_header, name)
        rest = file.read(size - 8 - n_header)
    if len(rest) != size - 8 - n_header:
        raise ValueError(f"{name!r} changed while it was read (it is shorter than its size): truncated.")
    try:
        tensors = safetensors.torch.load(start + header_bytes + rest)
    except Exception as error:  # safetensors raises its own SafetensorError (and others)
        raise ValueError(f"{name!r}: the tensors cannot be read ({error}): truncated or corrupted.") from None
    if digest(metadata["estimator"], tensors) != metadata["sha256"]:
        raise ValueError(
            f"{name!r} was changed or corrupted after it was saved: its SHA-256 checksum "
            "does not match its contents. Nothing was loaded."
        )
    try:
        description = _parse_json(metadata["estimator"], "the estimator description")
    except ValueError as error:
        raise ValueError(f"{name!r}: {error}") from None
    return expect(description, dict, f"{name!r}: the estimator description"), tensors
