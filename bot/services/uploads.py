"""Files shared in Slack exactly once per key, across retries, crashes and replicas.

``upload_once`` claims the key in the ``file_upload`` table (a lease, like the
side-effect ledger), uploads the bytes (``Notifier.prepare_upload``), stores
the Slack file id, and only then shares the file (``Notifier.share_upload``).
A run that dies between the two leaves the file id behind: the next call,
once the lease has run out, asks Slack whether that file is already shared
(``Notifier.is_shared``) and shares it if not; it does not upload again. An
upload Slack has discarded meanwhile (never completed) is uploaded afresh:
nobody saw it. A key stands for one file in one place: the same key with
another filename or another channel is a programming error and is refused.
Other bytes under the same key (a resumed run rendered the file again, and
something in it changed meanwhile) replace the old ones while the file is
not shared yet; once it is shared, the key's file is the one in Slack.

Errors:
- ``ValueError`` — the content is empty (Slack refuses a length of 0).
- ``UploadConflict`` — the key was used for another file (name or channel).
- ``UploadBusy`` — another run holds the key right now; call again later.
- whatever the gateway raised (``SlackUnavailable``, ``SlackApiError``,
  ``UploadRefused``): the attempt is recorded and the lease released, so the
  next call resumes from what is stored.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from slack_sdk.errors import SlackApiError

from bot.services.deps import Deps
from storage import uploads as su
from storage.db import transaction
from storage.queries import Claim

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=10)  # longer than one attempt with the gateway's retries and its wait for a share to settle


class UploadConflict(ValueError):
    """The key already stands for another file."""


class UploadBusy(RuntimeError):
    """Another run holds the key's lease."""

    def __init__(self, key: str) -> None:
        super().__init__(f"another run is uploading {key} right now; call again later")
        self.key = key


@dataclass(frozen=True, slots=True)
class _Upload:
    key: str
    channel: str
    filename: str
    content: bytes
    title: str
    comment: str | None
    thread_ts: str | None
    holder: datetime


def upload_once(
    deps: Deps,
    *,
    key: str,
    channel: str,
    filename: str,
    content: bytes,
    title: str,
    comment: str | None = None,
    thread_ts: str | None = None,
) -> str:
    """Share ``content`` as ``filename`` in ``channel`` (a conversation id, or a
    user id for the app's DM with them), once for ``key``; return the Slack
    file id. ``title`` is the file's title, ``comment`` the message's text,
    ``thread_ts`` the thread to share it in. A repeated call returns the same
    id and shares nothing more."""
    if not content:
        raise ValueError(f"upload {key!r}: {filename!r} is empty; Slack takes no empty file")
    digest = hashlib.sha256(content).hexdigest()
    now = deps.clock.now()
    with transaction(deps.session_factory) as session:
        claim, row = su.claim_upload(
            session=session, key=key, channel=channel, filename=filename, title=title,
            sha256=digest, length=len(content), now=now, lease=LEASE,
        )  # fmt: skip
        stored = (row.channel, row.filename, row.sha256)
        file_id, holder = row.file_id, row.claimed_at
    if stored[:2] != (channel, filename):
        raise UploadConflict(
            f"upload key {key!r} already stands for {stored[1]!r} in {stored[0]} (sha256 {stored[2][:12]}…), "
            f"not {filename!r} in {channel} (sha256 {digest[:12]}…): use a new key for another file"
        )
    if claim is Claim.DONE:
        if stored[2] != digest:  # shared already: the key's file is in Slack, whatever a later render gives
            log.info("upload %s is already shared (sha256 %s…); its new rendering (%s…) is not shared again", key, stored[2][:12], digest[:12])
        return str(file_id)  # a shared row always has its file id
    if claim is Claim.BUSY or holder is None:
        raise UploadBusy(key)
    upload = _Upload(key, channel, filename, content, title, comment, thread_ts, holder)
    try:
        if stored[2] != digest:  # rendered again (a resumed run) and different: share these bytes, unless the old ones made it
            file_id = _replace_content(deps, upload, file_id, digest)
            if file_id is not None:
                return file_id
        return _finish(deps, upload, file_id)
    except Exception as exc:
        with transaction(deps.session_factory) as session:
            su.release_upload(session=session, key=key, now=deps.clock.now(), holder=holder, error=f"{type(exc).__name__}: {exc}")
        log.warning("upload %s not finished (%s: %s); the next call resumes it", key, type(exc).__name__, exc)
        raise


def _replace_content(deps: Deps, upload: _Upload, file_id: str | None, digest: str) -> str | None:
    """The key's earlier bytes, never confirmed shared, give way to these.
    Returns the earlier file's id when Slack shows it shared after all (then
    nothing more is shared), else None once the row holds the new bytes."""
    if file_id is not None:
        where = deps.notifier.open_dm(upload.channel) if upload.channel[:1] in ("U", "W") else upload.channel
        if deps.notifier.is_shared(file_id, where):
            return _shared(deps, upload, file_id)
    with transaction(deps.session_factory) as session:
        if not su.replace_upload_content(session=session, key=upload.key, sha256=digest, length=len(upload.content), holder=upload.holder):
            raise UploadBusy(upload.key)
    log.info("upload %s: rendered again with other bytes before it was shared; sharing the new ones", upload.key)
    return None


def _finish(deps: Deps, upload: _Upload, file_id: str | None) -> str:
    notifier = deps.notifier
    where = notifier.open_dm(upload.channel) if upload.channel[:1] in ("U", "W") else upload.channel
    if file_id is not None and notifier.is_shared(file_id, where):  # an earlier run shared it, then died
        return _shared(deps, upload, file_id)
    for _ in range(2):  # a second round only when Slack discarded an upload left uncompleted
        if file_id is None:
            file_id = notifier.prepare_upload(filename=upload.filename, content=upload.content)
            with transaction(deps.session_factory) as session:
                if not su.set_upload_prepared(session=session, key=upload.key, file_id=file_id, now=deps.clock.now(), holder=upload.holder):
                    raise UploadBusy(upload.key)  # our lease ran out and another run took the key: ours is never shared
        try:
            notifier.share_upload(file_id, where, title=upload.title, comment=upload.comment, thread_ts=upload.thread_ts)
        except SlackApiError as error:
            if error.response.get("error") != "file_not_found":
                raise
            log.warning("Slack no longer knows upload %s of %s; uploading it again", file_id, upload.key)
            with transaction(deps.session_factory) as session:
                su.forget_upload_file(session=session, key=upload.key, file_id=file_id, holder=upload.holder)
            file_id = None
            continue
        return _shared(deps, upload, file_id)
    raise RuntimeError(f"Slack lost the upload of {upload.key} twice in a row")


def _shared(deps: Deps, upload: _Upload, file_id: str) -> str:
    with transaction(deps.session_factory) as session:
        su.set_upload_shared(session=session, key=upload.key, file_id=file_id, now=deps.clock.now())
    return file_id


def find_shared(deps: Deps, key: str) -> str | None:
    """The file id shared under ``key``, or ``None`` when it is not (yet) shared."""
    with transaction(deps.session_factory) as session:
        row = su.find_upload(session=session, key=key)
        return row.file_id if row is not None and row.shared_at is not None else None
