"""Example handlers: checksum every file under a folder, one job per file.

Load them into a worker with `jobq --worker-only --handlers examples.checksum`;
enqueue the work with `python -m examples.checksum FOLDER`.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

from jobq_tui import JobContext, JobStore, handler, open_database
from jobq_tui.errors import JobCancelled, JobqError

CHUNK_BYTES = 1 << 20


@handler("checksum")
def checksum(ctx: JobContext) -> dict:
    """Return the SHA-256 and size of the file named by the payload's `path`."""
    path = Path(ctx.payload["path"])
    size = path.stat().st_size
    digest = hashlib.sha256()
    done = 0
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK_BYTES):
            digest.update(chunk)
            done += len(chunk)
            if size:
                ctx.progress(done * 100 // size, f"{done:,} of {size:,} bytes")
            if ctx.cancelled:
                raise JobCancelled(f"checksum of {path} cancelled at {done:,} bytes")
    return {"path": str(path), "bytes": size, "sha256": digest.hexdigest()}


def enqueue_folder(store: JobStore, folder: Path) -> list[int]:
    """Enqueue one checksum job per regular file under `folder`."""
    files = sorted(
        str(path.resolve())
        for path in folder.rglob("*")
        if path.is_file() and not path.is_symlink()
    )
    return store.enqueue_many("checksum", [{"path": path} for path in files])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Enqueue a checksum job per file.")
    parser.add_argument("folder", type=Path, help="folder to walk")
    parser.add_argument("--db", default=None, help="database path or URL")
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        print(
            f"error: {args.folder} is not a folder: pass a directory", file=sys.stderr
        )
        return 2
    try:
        database = open_database(args.db)
    except JobqError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    ids = enqueue_folder(JobStore(database), args.folder)
    print(f"enqueued {len(ids)} checksum jobs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
