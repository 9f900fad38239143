from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FilesFromAgent(_message.Message):
    __slots__ = ("attach", "message")
    ATTACH_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    attach: Attach
    message: FilesMessage
    def __init__(self, attach: _Optional[_Union[Attach, _Mapping]] = ..., message: _Optional[_Union[FilesMessage, _Mapping]] = ...) -> None: ...

class FilesFromPeer(_message.Message):
    __slots__ = ("attached", "message", "close")
    ATTACHED_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    CLOSE_FIELD_NUMBER: _ClassVar[int]
    attached: Attached
    message: FilesMessage
    close: Close
    def __init__(self, attached: _Optional[_Union[Attached, _Mapping]] = ..., message: _Optional[_Union[FilesMessage, _Mapping]] = ..., close: _Optional[_Union[Close, _Mapping]] = ...) -> None: ...

class FilesMessage(_message.Message):
    __slots__ = ("data", "text")
    DATA_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    text: bool
    def __init__(self, data: _Optional[bytes] = ..., text: _Optional[bool] = ...) -> None: ...

class WatchTerminalRequest(_message.Message):
    __slots__ = ("session_id", "viewer_session_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    VIEWER_SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    viewer_session_id: str
    def __init__(self, session_id: _Optional[str] = ..., viewer_session_id: _Optional[str] = ...) -> None: ...

class WatchTerminalResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SetTerminalControlRequest(_message.Message):
    __slots__ = ("session_id", "controller_session_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    CONTROLLER_SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    controller_session_id: str
    def __init__(self, session_id: _Optional[str] = ..., controller_session_id: _Optional[str] = ...) -> None: ...

class SetTerminalControlResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SetScreenInputRequest(_message.Message):
    __slots__ = ("session_id", "held")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    HELD_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    held: bool
    def __init__(self, session_id: _Optional[str] = ..., held: _Optional[bool] = ...) -> None: ...

class SetScreenInputResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AttachTerminalRequest(_message.Message):
    __slots__ = ("from_session_id", "to_session_id")
    FROM_SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    TO_SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    from_session_id: str
    to_session_id: str
    def __init__(self, from_session_id: _Optional[str] = ..., to_session_id: _Optional[str] = ...) -> None: ...

class AttachTerminalResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DropTerminalRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class DropTerminalResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class RestartIceRequest(_message.Message):
    __slots__ = ("session_id", "offer_sdp")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    OFFER_SDP_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    offer_sdp: str
    def __init__(self, session_id: _Optional[str] = ..., offer_sdp: _Optional[str] = ...) -> None: ...

class RestartIceResponse(_message.Message):
    __slots__ = ("answer_sdp",)
    ANSWER_SDP_FIELD_NUMBER: _ClassVar[int]
    answer_sdp: str
    def __init__(self, answer_sdp: _Optional[str] = ...) -> None: ...

class TestTurnRequest(_message.Message):
    __slots__ = ("ice_servers", "timeout_ms")
    ICE_SERVERS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    ice_servers: _containers.RepeatedCompositeFieldContainer[IceServer]
    timeout_ms: int
    def __init__(self, ice_servers: _Optional[_Iterable[_Union[IceServer, _Mapping]]] = ..., timeout_ms: _Optional[int] = ...) -> None: ...

class TestTurnResponse(_message.Message):
    __slots__ = ("relay_candidates", "error", "timed_out", "elapsed_ms")
    RELAY_CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    TIMED_OUT_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_MS_FIELD_NUMBER: _ClassVar[int]
    relay_candidates: _containers.RepeatedCompositeFieldContainer[IceCandidateInfo]
    error: str
    timed_out: bool
    elapsed_ms: float
    def __init__(self, relay_candidates: _Optional[_Iterable[_Union[IceCandidateInfo, _Mapping]]] = ..., error: _Optional[str] = ..., timed_out: _Optional[bool] = ..., elapsed_ms: _Optional[float] = ...) -> None: ...

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
    __slots__ = ("session_id", "offer_sdp", "ice_servers", "kind", "screen", "relay_only")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    OFFER_SDP_FIELD_NUMBER: _ClassVar[int]
    ICE_SERVERS_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SCREEN_FIELD_NUMBER: _ClassVar[int]
    RELAY_ONLY_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    offer_sdp: str
    ice_servers: _containers.RepeatedCompositeFieldContainer[IceServer]
    kind: str
    screen: ScreenOptions
    relay_only: bool
    def __init__(self, session_id: _Optional[str] = ..., offer_sdp: _Optional[str] = ..., ice_servers: _Optional[_Iterable[_Union[IceServer, _Mapping]]] = ..., kind: _Optional[str] = ..., screen: _Optional[_Union[ScreenOptions, _Mapping]] = ..., relay_only: _Optional[bool] = ...) -> None: ...

class ScreenOptions(_message.Message):
    __slots__ = ("display", "width", "height", "fps", "min_bitrate_kbps", "max_bitrate_kbps", "allow_input", "allow_clipboard_read", "input_held")
    DISPLAY_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    FPS_FIELD_NUMBER: _ClassVar[int]
    MIN_BITRATE_KBPS_FIELD_NUMBER: _ClassVar[int]
    MAX_BITRATE_KBPS_FIELD_NUMBER: _ClassVar[int]
    ALLOW_INPUT_FIELD_NUMBER: _ClassVar[int]
    ALLOW_CLIPBOARD_READ_FIELD_NUMBER: _ClassVar[int]
    INPUT_HELD_FIELD_NUMBER: _ClassVar[int]
    display: str
    width: int
    height: int
    fps: int
    min_bitrate_kbps: int
    max_bitrate_kbps: int
    allow_input: bool
    allow_clipboard_read: bool
    input_held: bool
    def __init__(self, display: _Optional[str] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., fps: _Optional[int] = ..., min_bitrate_kbps: _Optional[int] = ..., max_bitrate_kbps: _Optional[int] = ..., allow_input: _Optional[bool] = ..., allow_clipboard_read: _Optional[bool] = ..., input_held: _Optional[bool] = ...) -> None: ...

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
    __slots__ = ("session_id", "time_unix_micros", "local_candidate", "ice_state", "peer_state", "channel_opened", "closed", "terminal_resize", "terminal_ended", "clipboard")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_UNIX_MICROS_FIELD_NUMBER: _ClassVar[int]
    LOCAL_CANDIDATE_FIELD_NUMBER: _ClassVar[int]
    ICE_STATE_FIELD_NUMBER: _ClassVar[int]
    PEER_STATE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_OPENED_FIELD_NUMBER: _ClassVar[int]
    CLOSED_FIELD_NUMBER: _ClassVar[int]
    TERMINAL_RESIZE_FIELD_NUMBER: _ClassVar[int]
    TERMINAL_ENDED_FIELD_NUMBER: _ClassVar[int]
    CLIPBOARD_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    time_unix_micros: int
    local_candidate: IceCandidate
    ice_state: str
    peer_state: str
    channel_opened: ChannelOpened
    closed: SessionClosed
    terminal_resize: Resize
    terminal_ended: TerminalEnded
    clipboard: ClipboardTransfer
    def __init__(self, session_id: _Optional[str] = ..., time_unix_micros: _Optional[int] = ..., local_candidate: _Optional[_Union[IceCandidate, _Mapping]] = ..., ice_state: _Optional[str] = ..., peer_state: _Optional[str] = ..., channel_opened: _Optional[_Union[ChannelOpened, _Mapping]] = ..., closed: _Optional[_Union[SessionClosed, _Mapping]] = ..., terminal_resize: _Optional[_Union[Resize, _Mapping]] = ..., terminal_ended: _Optional[_Union[TerminalEnded, _Mapping]] = ..., clipboard: _Optional[_Union[ClipboardTransfer, _Mapping]] = ...) -> None: ...

class ClipboardTransfer(_message.Message):
    __slots__ = ("direction", "bytes", "code", "attempts")
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    direction: str
    bytes: int
    code: str
    attempts: int
    def __init__(self, direction: _Optional[str] = ..., bytes: _Optional[int] = ..., code: _Optional[str] = ..., attempts: _Optional[int] = ...) -> None: ...

class TerminalEnded(_message.Message):
    __slots__ = ("reason", "message")
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    reason: str
    message: str
    def __init__(self, reason: _Optional[str] = ..., message: _Optional[str] = ...) -> None: ...

class ChannelOpened(_message.Message):
    __slots__ = ("label", "protocol")
    LABEL_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    label: str
    protocol: str
    def __init__(self, label: _Optional[str] = ..., protocol: _Optional[str] = ...) -> None: ...

class SessionClosed(_message.Message):
    __slots__ = ("reason", "message", "ice", "terminal", "terminal_detached")
    REASON_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ICE_FIELD_NUMBER: _ClassVar[int]
    TERMINAL_FIELD_NUMBER: _ClassVar[int]
    TERMINAL_DETACHED_FIELD_NUMBER: _ClassVar[int]
    reason: str
    message: str
    ice: IceDiagnosis
    terminal: TerminalActivity
    terminal_detached: bool
    def __init__(self, reason: _Optional[str] = ..., message: _Optional[str] = ..., ice: _Optional[_Union[IceDiagnosis, _Mapping]] = ..., terminal: _Optional[_Union[TerminalActivity, _Mapping]] = ..., terminal_detached: _Optional[bool] = ...) -> None: ...

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

class EndTerminalRequest(_message.Message):
    __slots__ = ("session_id", "exit_code", "error", "no_exit")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    EXIT_CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    NO_EXIT_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    exit_code: int
    error: Error
    no_exit: bool
    def __init__(self, session_id: _Optional[str] = ..., exit_code: _Optional[int] = ..., error: _Optional[_Union[Error, _Mapping]] = ..., no_exit: _Optional[bool] = ...) -> None: ...

class EndTerminalResponse(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class WatchRecordingRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class RecordingBatch(_message.Message):
    __slots__ = ("chunks",)
    CHUNKS_FIELD_NUMBER: _ClassVar[int]
    chunks: _containers.RepeatedCompositeFieldContainer[RecordingChunk]
    def __init__(self, chunks: _Optional[_Iterable[_Union[RecordingChunk, _Mapping]]] = ...) -> None: ...

class RecordingChunk(_message.Message):
    __slots__ = ("time_unix_micros", "input", "data", "dropped_bytes")
    TIME_UNIX_MICROS_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    DROPPED_BYTES_FIELD_NUMBER: _ClassVar[int]
    time_unix_micros: int
    input: bool
    data: bytes
    dropped_bytes: int
    def __init__(self, time_unix_micros: _Optional[int] = ..., input: _Optional[bool] = ..., data: _Optional[bytes] = ..., dropped_bytes: _Optional[int] = ...) -> None: ...

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
    __slots__ = ("sessions", "goroutines")
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    GOROUTINES_FIELD_NUMBER: _ClassVar[int]
    sessions: _containers.RepeatedCompositeFieldContainer[SessionStats]
    goroutines: int
    def __init__(self, sessions: _Optional[_Iterable[_Union[SessionStats, _Mapping]]] = ..., goroutines: _Optional[int] = ...) -> None: ...

class SessionStats(_message.Message):
    __slots__ = ("session_id", "kind", "peer_state", "ice_state", "selected_pair", "rtt_ms", "bytes_sent", "bytes_received", "channels", "age_ms", "screen", "terminal", "ice")
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
    SCREEN_FIELD_NUMBER: _ClassVar[int]
    TERMINAL_FIELD_NUMBER: _ClassVar[int]
    ICE_FIELD_NUMBER: _ClassVar[int]
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
    screen: ScreenStats
    terminal: TerminalActivity
    ice: IceDiagnosis
    def __init__(self, session_id: _Optional[str] = ..., kind: _Optional[str] = ..., peer_state: _Optional[str] = ..., ice_state: _Optional[str] = ..., selected_pair: _Optional[_Union[CandidatePair, _Mapping]] = ..., rtt_ms: _Optional[float] = ..., bytes_sent: _Optional[int] = ..., bytes_received: _Optional[int] = ..., channels: _Optional[_Iterable[_Union[ChannelStats, _Mapping]]] = ..., age_ms: _Optional[int] = ..., screen: _Optional[_Union[ScreenStats, _Mapping]] = ..., terminal: _Optional[_Union[TerminalActivity, _Mapping]] = ..., ice: _Optional[_Union[IceDiagnosis, _Mapping]] = ...) -> None: ...

class IceDiagnosis(_message.Message):
    __slots__ = ("host_candidates", "srflx_candidates", "relay_candidates", "local_candidates", "remote_candidates", "pairs", "gathering_state", "turn_configured", "turn_urls", "turn_allocation", "turn_error", "relay_only")
    HOST_CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    SRFLX_CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    RELAY_CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    LOCAL_CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    REMOTE_CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    PAIRS_FIELD_NUMBER: _ClassVar[int]
    GATHERING_STATE_FIELD_NUMBER: _ClassVar[int]
    TURN_CONFIGURED_FIELD_NUMBER: _ClassVar[int]
    TURN_URLS_FIELD_NUMBER: _ClassVar[int]
    TURN_ALLOCATION_FIELD_NUMBER: _ClassVar[int]
    TURN_ERROR_FIELD_NUMBER: _ClassVar[int]
    RELAY_ONLY_FIELD_NUMBER: _ClassVar[int]
    host_candidates: int
    srflx_candidates: int
    relay_candidates: int
    local_candidates: _containers.RepeatedCompositeFieldContainer[IceCandidateInfo]
    remote_candidates: _containers.RepeatedCompositeFieldContainer[IceCandidateInfo]
    pairs: _containers.RepeatedCompositeFieldContainer[IceCandidatePairInfo]
    gathering_state: str
    turn_configured: bool
    turn_urls: _containers.RepeatedScalarFieldContainer[str]
    turn_allocation: str
    turn_error: str
    relay_only: bool
    def __init__(self, host_candidates: _Optional[int] = ..., srflx_candidates: _Optional[int] = ..., relay_candidates: _Optional[int] = ..., local_candidates: _Optional[_Iterable[_Union[IceCandidateInfo, _Mapping]]] = ..., remote_candidates: _Optional[_Iterable[_Union[IceCandidateInfo, _Mapping]]] = ..., pairs: _Optional[_Iterable[_Union[IceCandidatePairInfo, _Mapping]]] = ..., gathering_state: _Optional[str] = ..., turn_configured: _Optional[bool] = ..., turn_urls: _Optional[_Iterable[str]] = ..., turn_allocation: _Optional[str] = ..., turn_error: _Optional[str] = ..., relay_only: _Optional[bool] = ...) -> None: ...

class IceCandidateInfo(_message.Message):
    __slots__ = ("type", "address", "protocol", "relay_protocol", "url")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    RELAY_PROTOCOL_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    type: str
    address: str
    protocol: str
    relay_protocol: str
    url: str
    def __init__(self, type: _Optional[str] = ..., address: _Optional[str] = ..., protocol: _Optional[str] = ..., relay_protocol: _Optional[str] = ..., url: _Optional[str] = ...) -> None: ...

class IceCandidatePairInfo(_message.Message):
    __slots__ = ("local", "remote", "state", "nominated", "requests_sent", "responses_received", "requests_received", "rtt_ms")
    LOCAL_FIELD_NUMBER: _ClassVar[int]
    REMOTE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    NOMINATED_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_SENT_FIELD_NUMBER: _ClassVar[int]
    RESPONSES_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    RTT_MS_FIELD_NUMBER: _ClassVar[int]
    local: IceCandidateInfo
    remote: IceCandidateInfo
    state: str
    nominated: bool
    requests_sent: int
    responses_received: int
    requests_received: int
    rtt_ms: float
    def __init__(self, local: _Optional[_Union[IceCandidateInfo, _Mapping]] = ..., remote: _Optional[_Union[IceCandidateInfo, _Mapping]] = ..., state: _Optional[str] = ..., nominated: _Optional[bool] = ..., requests_sent: _Optional[int] = ..., responses_received: _Optional[int] = ..., requests_received: _Optional[int] = ..., rtt_ms: _Optional[float] = ...) -> None: ...

class TerminalActivity(_message.Message):
    __slots__ = ("last_input_unix_micros", "last_output_unix_micros", "input_bytes", "output_bytes", "handed_over", "input_refused")
    LAST_INPUT_UNIX_MICROS_FIELD_NUMBER: _ClassVar[int]
    LAST_OUTPUT_UNIX_MICROS_FIELD_NUMBER: _ClassVar[int]
    INPUT_BYTES_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_BYTES_FIELD_NUMBER: _ClassVar[int]
    HANDED_OVER_FIELD_NUMBER: _ClassVar[int]
    INPUT_REFUSED_FIELD_NUMBER: _ClassVar[int]
    last_input_unix_micros: int
    last_output_unix_micros: int
    input_bytes: int
    output_bytes: int
    handed_over: bool
    input_refused: int
    def __init__(self, last_input_unix_micros: _Optional[int] = ..., last_output_unix_micros: _Optional[int] = ..., input_bytes: _Optional[int] = ..., output_bytes: _Optional[int] = ..., handed_over: _Optional[bool] = ..., input_refused: _Optional[int] = ...) -> None: ...

class ScreenStats(_message.Message):
    __slots__ = ("display_width", "display_height", "video_width", "video_height", "fps", "target_fps", "target_bitrate_kbps", "bitrate_kbps", "frames", "keyframes", "frames_skipped", "keyframe_requests", "bytes_encoded", "input_events", "input_errors", "last_encode_ms", "encode_p50_ms", "encode_p99_ms")
    DISPLAY_WIDTH_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    VIDEO_WIDTH_FIELD_NUMBER: _ClassVar[int]
    VIDEO_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    FPS_FIELD_NUMBER: _ClassVar[int]
    TARGET_FPS_FIELD_NUMBER: _ClassVar[int]
    TARGET_BITRATE_KBPS_FIELD_NUMBER: _ClassVar[int]
    BITRATE_KBPS_FIELD_NUMBER: _ClassVar[int]
    FRAMES_FIELD_NUMBER: _ClassVar[int]
    KEYFRAMES_FIELD_NUMBER: _ClassVar[int]
    FRAMES_SKIPPED_FIELD_NUMBER: _ClassVar[int]
    KEYFRAME_REQUESTS_FIELD_NUMBER: _ClassVar[int]
    BYTES_ENCODED_FIELD_NUMBER: _ClassVar[int]
    INPUT_EVENTS_FIELD_NUMBER: _ClassVar[int]
    INPUT_ERRORS_FIELD_NUMBER: _ClassVar[int]
    LAST_ENCODE_MS_FIELD_NUMBER: _ClassVar[int]
    ENCODE_P50_MS_FIELD_NUMBER: _ClassVar[int]
    ENCODE_P99_MS_FIELD_NUMBER: _ClassVar[int]
    display_width: int
    display_height: int
    video_width: int
    video_height: int
    fps: float
    target_fps: int
    target_bitrate_kbps: int
    bitrate_kbps: float
    frames: int
    keyframes: int
    frames_skipped: int
    keyframe_requests: int
    bytes_encoded: int
    input_events: int
    input_errors: int
    last_encode_ms: float
    encode_p50_ms: float
    encode_p99_ms: float
    def __init__(self, display_width: _Optional[int] = ..., display_height: _Optional[int] = ..., video_width: _Optional[int] = ..., video_height: _Optional[int] = ..., fps: _Optional[float] = ..., target_fps: _Optional[int] = ..., target_bitrate_kbps: _Optional[int] = ..., bitrate_kbps: _Optional[float] = ..., frames: _Optional[int] = ..., keyframes: _Optional[int] = ..., frames_skipped: _Optional[int] = ..., keyframe_requests: _Optional[int] = ..., bytes_encoded: _Optional[int] = ..., input_events: _Optional[int] = ..., input_errors: _Optional[int] = ..., last_encode_ms: _Optional[float] = ..., encode_p50_ms: _Optional[float] = ..., encode_p99_ms: _Optional[float] = ...) -> None: ...

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
