"""Shards: stable slices of a campaign's letters, for building on several machines."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from letters.output.plan import Job


def in_shard(job: Job, shard: tuple[int, int]) -> bool:
    """A stable 1/N slice: the same letter always lands in the same shard."""
    index, count = shard
    digest = hashlib.sha256(job.label.encode()).digest()
    return int.from_bytes(digest[:8], "big") % count == index - 1


def shard_manifest_name(shard: tuple[int, int]) -> str:
    return f"manifest.{shard[0]}-of-{shard[1]}.json"


def case_ids(jobs: Iterable[Job]) -> list[str]:
    return list(dict.fromkeys(job.case_id for job in jobs))
