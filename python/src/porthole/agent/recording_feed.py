"""Feeds a session's recording from porthole-core's copies (WatchRecording),
off the terminal's hot path: porthole-core tees every byte into a bounded
backlog and never waits for us; this task drains it in batches into the
asciicast file (recording.py). The stream ends after the session closed in
porthole-core and everything was sent; the file is finished after that."""

from __future__ import annotations

import logging

import grpc

from porthole.agent.recording import Recorder
from porthole.rpc.v1 import sidecar_pb2 as pb
from porthole.rpc.v1 import sidecar_pb2_grpc

log = logging.getLogger("porthole.agent.recording")


async def feed(stub: sidecar_pb2_grpc.SidecarStub, session_id: str, recorder: Recorder) -> None:
    """Writes every batch into recorder until the stream ends (the session closed, or porthole-core died)."""
    call = stub.WatchRecording(pb.WatchRecordingRequest(session_id=session_id))
    try:
        async for batch in call:
            for c in batch.chunks:
                at = c.time_unix_micros / 1e6
                if c.dropped_bytes:
                    recorder.gap(c.dropped_bytes, at)
                elif c.input:
                    recorder.input(c.data, at)
                else:
                    recorder.output(c.data, at)
    except grpc.aio.AioRpcError as e:
        # porthole-core died (or the session was already gone): keep what came.
        log.warning("recording stream ended early: %s", e.code().name, extra={"session_id": session_id})
    finally:
        call.cancel()
