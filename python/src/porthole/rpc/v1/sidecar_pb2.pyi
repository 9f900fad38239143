from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class IceServer(_message.Message):
    __slots__ = ("urls", "username", "credential")
    URLS_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    CREDENTIAL_FIELD_NUMBER: _ClassVar[int]
    urls: _containers.RepeatedScalarFieldContainer[str]
    username: str
    credential: str
    def __init__(self, urls: _Optional[_Iterable[str]] = ..., username: _Optional[str] = ..., credential: _Optional[str] = ...) -> None: ...

class CreateSessionRequest(_message.Message):
    __slots__ = ("session_id", "offer_sdp", "ice_servers", "kind")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    OFFER_SDP_FIELD_NUMBER: _ClassVar[int]
    ICE_SERVERS_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    offer_sdp: str
    ice_servers: _containers.RepeatedCompositeFieldContainer[IceServer]
    kind: str
    def __init__(self, session_id: _Optional[str] = ..., offer_sdp: _Optional[str] = ..., ice_servers: _Optional[_Iterable[_Union[IceServer, _Mapping]]] = ..., kind: _Optional[str] = ...) -> None: ...

class CreateSessionResponse(_message.Message):
    __slots__ = ("answer_sdp",)
    ANSWER_SDP_FIELD_NUMBER: _ClassVar[int]
    answer_sdp: str
    def __init__(self, answer_sdp: _Optional[str] = ...) -> None: ...

class IceCandidate(_message.Message):
    __slots__ = ("candidate", "sdp_mid", "sdp_mline_index")
    CANDIDATE_FIELD_NUMBER: _ClassVar[int]
    SDP_MID_FIELD_NUMBER: _ClassVar[int]
    SDP_MLINE_INDEX_FIELD_NUMBER: _ClassVar[int]
    candidate: str
    sdp_mid: str
    sdp_mline_index: int
    def __init__(self, candidate: _Optional[str] = ..., sdp_mid: _Optional[str] = ..., sdp_mline_index: _Optional[int] = ...) -> None: ...

class AddRemoteCandidateRequest(_message.Message):
    __slots__ = ("session_id", "candidate")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    CANDIDATE_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    candidate: IceCandidate
    def __init__(self, session_id: _Optional[str] = ..., candidate: _Optional[_Union[IceCandidate, _Mapping]] = ...) -> None: ...

class AddRemoteCandidateResponse(_message.Message):
    __slots__ = ("queued",)
    QUEUED_FIELD_NUMBER: _ClassVar[int]
    queued: bool
    def __init__(self, queued: _Optional[bool] = ...) -> None: ...

class WatchEventsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SessionEvent(_message.Message):
    __slots__ = ("session_id", "time_unix_micros", "local_candidate", "ice_state", "peer_state", "channel_opened", "closed")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_UNIX_MICROS_FIELD_NUMBER: _ClassVar[int]
    LOCAL_CANDIDATE_FIELD_NUMBER: _ClassVar[int]
    ICE_STATE_FIELD_NUMBER: _ClassVar[int]
    PEER_STATE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_OPENED_FIELD_NUMBER: _ClassVar[int]
    CLOSED_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    time_unix_micros: int
    local_candidate: IceCandidate
    ice_state: str
    peer_state: str
    channel_opened: ChannelOpened
    closed: SessionClosed
    def __init__(self, session_id: _Optional[str] = ..., time_unix_micros: _Optional[int] = ..., local_candidate: _Optional[_Union[IceCandidate, _Mapping]] = ..., ice_state: _Optional[str] = ..., peer_state: _Optional[str] = ..., channel_opened: _Optional[_Union[ChannelOpened, _Mapping]] = ..., closed: _Optional[_Union[SessionClosed, _Mapping]] = ...) -> None: ...

class ChannelOpened(_message.Message):
    __slots__ = ("label", "protocol")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    label: str
    protocol: str
    def __init__(self, label: _Optional[str] = ..., protocol: _Optional[str] = ...) -> None: ...

class SessionClosed(_message.Message):
    __slots__ = ("reason", "message")
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    reason: str
    message: str
    def __init__(self, reason: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class TerminalFromAgent(_message.Message):
    __slots__ = ("attach", "output", "exit", "error")
    ATTACH_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    EXIT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    attach: Attach
    output: bytes
    exit: Exit
    error: Error
    def __init__(self, attach: _Optional[_Union[Attach, _Mapping]] = ..., output: _Optional[bytes] = ..., exit: _Optional[_Union[Exit, _Mapping]] = ..., error: _Optional[_Union[Error, _Mapping]] = ...) -> None: ...

class Attach(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class Exit(_message.Message):
    __slots__ = ("code",)
    CODE_FIELD_NUMBER: _ClassVar[int]
    code: int
    def __init__(self, code: _Optional[int] = ...) -> None: ...

class Error(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: str
    message: str
    def __init__(self, code: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class TerminalFromPeer(_message.Message):
    __slots__ = ("attached", "input", "resize", "close")
    ATTACHED_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    RESIZE_FIELD_NUMBER: _ClassVar[int]
    CLOSE_FIELD_NUMBER: _ClassVar[int]
    attached: Attached
    input: bytes
    resize: Resize
    close: Close
    def __init__(self, attached: _Optional[_Union[Attached, _Mapping]] = ..., input: _Optional[bytes] = ..., resize: _Optional[_Union[Resize, _Mapping]] = ..., close: _Optional[_Union[Close, _Mapping]] = ...) -> None: ...

class Attached(_message.Message):
    __slots__ = ("binary",)
    BINARY_FIELD_NUMBER: _ClassVar[int]
    binary: bool
    def __init__(self, binary: _Optional[bool] = ...) -> None: ...

class Resize(_message.Message):
    __slots__ = ("cols", "rows")
    COLS_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    cols: int
    rows: int
    def __init__(self, cols: _Optional[int] = ..., rows: _Optional[int] = ...) -> None: ...

class Close(_message.Message):
    __slots__ = ("reason",)
    REASON_FIELD_NUMBER: _ClassVar[int]
    reason: str
    def __init__(self, reason: _Optional[str] = ...) -> None: ...

class CloseSessionRequest(_message.Message):
    __slots__ = ("session_id", "reason")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    reason: str
    def __init__(self, session_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class CloseSessionResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetStatsRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class GetStatsResponse(_message.Message):
    __slots__ = ("sessions",)
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    sessions: _containers.RepeatedCompositeFieldContainer[SessionStats]
    def __init__(self, sessions: _Optional[_Iterable[_Union[SessionStats, _Mapping]]] = ...) -> None: ...

class SessionStats(_message.Message):
    __slots__ = ("session_id", "kind", "peer_state", "ice_state", "selected_pair", "rtt_ms", "bytes_sent", "bytes_received", "channels", "age_ms")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    PEER_STATE_FIELD_NUMBER: _ClassVar[int]
    ICE_STATE_FIELD_NUMBER: _ClassVar[int]
    SELECTED_PAIR_FIELD_NUMBER: _ClassVar[int]
    RTT_MS_FIELD_NUMBER: _ClassVar[int]
    BYTES_SENT_FIELD_NUMBER: _ClassVar[int]
    BYTES_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    AGE_MS_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    kind: str
    peer_state: str
    ice_state: str
    selected_pair: CandidatePair
    rtt_ms: float
    bytes_sent: int
    bytes_received: int
    channels: _containers.RepeatedCompositeFieldContainer[ChannelStats]
    age_ms: int
    def __init__(self, session_id: _Optional[str] = ..., kind: _Optional[str] = ..., peer_state: _Optional[str] = ..., ice_state: _Optional[str] = ..., selected_pair: _Optional[_Union[CandidatePair, _Mapping]] = ..., rtt_ms: _Optional[float] = ..., bytes_sent: _Optional[int] = ..., bytes_received: _Optional[int] = ..., channels: _Optional[_Iterable[_Union[ChannelStats, _Mapping]]] = ..., age_ms: _Optional[int] = ...) -> None: ...

class CandidatePair(_message.Message):
    __slots__ = ("local_type", "remote_type", "local_address", "remote_address", "protocol")
    LOCAL_TYPE_FIELD_NUMBER: _ClassVar[int]
    REMOTE_TYPE_FIELD_NUMBER: _ClassVar[int]
    LOCAL_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    REMOTE_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    local_type: str
    remote_type: str
    local_address: str
    remote_address: str
    protocol: str
    def __init__(self, local_type: _Optional[str] = ..., remote_type: _Optional[str] = ..., local_address: _Optional[str] = ..., remote_address: _Optional[str] = ..., protocol: _Optional[str] = ...) -> None: ...

class ChannelStats(_message.Message):
    __slots__ = ("label", "protocol", "state", "messages_sent", "messages_received", "bytes_sent", "bytes_received", "buffered_amount")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_SENT_FIELD_NUMBER: _ClassVar[int]
    MESSAGES_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    BYTES_SENT_FIELD_NUMBER: _ClassVar[int]
    BYTES_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    BUFFERED_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    label: str
    protocol: str
    state: str
    messages_sent: int
    messages_received: int
    bytes_sent: int
    bytes_received: int
    buffered_amount: int
    def __init__(self, label: _Optional[str] = ..., protocol: _Optional[str] = ..., state: _Optional[str] = ..., messages_sent: _Optional[int] = ..., messages_received: _Optional[int] = ..., bytes_sent: _Optional[int] = ..., bytes_received: _Optional[int] = ..., buffered_amount: _Optional[int] = ...) -> None: ...
