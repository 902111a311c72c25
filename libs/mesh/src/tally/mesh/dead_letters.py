"""Dead-letter streams: list what reached them, and replay it to its original subject under its original id.

A replayed message is published again with its original ``Nats-Msg-Id`` (kept in ``Tally-Dlq-Msg-Id`` by the
dead-letter move), so a consumer that had applied it after all drops it in its inbox, and is then deleted
from the dead-letter stream. Inside the stream's duplicate window the broker itself drops the replay as a
duplicate: that message stays dead-lettered and is reported, to be replayed once the window has passed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import nats.js.errors
from nats.js import JetStreamContext

from tally.mesh.jetstream import (
    DLQ_CONSUMER_HEADER,
    DLQ_HEADERS,
    DLQ_MSG_ID_HEADER,
    DLQ_REASON_HEADER,
    MSG_ID_HEADER,
    publish,
)

__all__ = ["DeadLetter", "Replay", "dead_letter_streams", "dead_letters", "replay"]

DLQ_STREAM_SUFFIX = "_DLQ"
_DLQ_PREFIX = "dlq."


@dataclass(frozen=True)
class DeadLetter:
    """One message in a dead-letter stream."""

    stream: str
    sequence: int
    subject: str
    """The dead-letter subject (``dlq.<original subject>``)."""
    headers: dict[str, str]
    data: bytes
    stored_at: datetime | None

    @property
    def original_subject(self) -> str:
        return self.subject.removeprefix(_DLQ_PREFIX)

    @property
    def reason(self) -> str:
        return self.headers.get(DLQ_REASON_HEADER, "")

    @property
    def consumer(self) -> str:
        return self.headers.get(DLQ_CONSUMER_HEADER, "")

    @property
    def original_msg_id(self) -> str | None:
        """The id it was first published under (older dead letters lack it: then their own id)."""
        return self.headers.get(DLQ_MSG_ID_HEADER) or self.headers.get(MSG_ID_HEADER)


@dataclass(frozen=True)
class Replay:
    """What replaying one dead letter did."""

    letter: DeadLetter
    replayed: bool
    """Published to the original subject and deleted from the dead-letter stream."""
    note: str


async def dead_letter_streams(js: JetStreamContext) -> list[str]:
    """Every dead-letter stream the broker has, by name."""
    names = [info.config.name or "" for info in await js.streams_info()]
    return sorted(name for name in names if name.endswith(DLQ_STREAM_SUFFIX))


async def dead_letters(js: JetStreamContext, stream: str, *, limit: int | None = None) -> list[DeadLetter]:
    """The messages of ``stream`` in order (deleted sequences skipped), at most ``limit``."""
    if not stream.endswith(DLQ_STREAM_SUFFIX):
        raise ValueError(f"{stream!r} is not a dead-letter stream (its name ends in {DLQ_STREAM_SUFFIX})")
    info = await js.stream_info(stream)
    letters: list[DeadLetter] = []
    if info.state.messages == 0:
        return letters
    for sequence in range(info.state.first_seq, info.state.last_seq + 1):
        if limit is not None and len(letters) >= limit:
            break
        try:
            raw = await js.get_msg(stream, sequence)
        except nats.js.errors.NotFoundError:
            continue  # deleted (replayed) or aged out
        letters.append(
            DeadLetter(
                stream=stream,
                sequence=sequence,
                subject=raw.subject or "",
                headers=dict(raw.headers or {}),
                data=raw.data or b"",
                stored_at=getattr(raw, "time", None),
            )
        )
    return letters


async def replay(js: JetStreamContext, letters: Sequence[DeadLetter]) -> list[Replay]:
    """Publish each letter to its original subject under its original id, then delete it from its stream."""
    outcomes: list[Replay] = []
    for letter in letters:
        msg_id = letter.original_msg_id
        if msg_id is None:
            outcomes.append(Replay(letter, False, "no message id to replay it under; left in place"))
            continue
        headers = {k: v for k, v in letter.headers.items() if k not in DLQ_HEADERS and k != MSG_ID_HEADER}
        ack = await publish(js, letter.original_subject, letter.data, msg_id, headers=headers)
        if ack.duplicate:
            outcomes.append(
                Replay(
                    letter,
                    False,
                    f"the broker still remembers id {msg_id} (duplicate window of {ack.stream}); left in "
                    "place, replay it again once the window has passed",
                )
            )
            continue
        await js.delete_msg(letter.stream, letter.sequence)
        outcomes.append(Replay(letter, True, f"replayed to {letter.original_subject} as {msg_id}"))
    return outcomes
