from google.protobuf import struct_pb2 as _struct_pb2
from porthole.rpc.v1 import sidecar_pb2 as _sidecar_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ListSessionsRequest(_message.Message):
    __slots__ = ("limit",)
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    limit: int
    def __init__(self, limit: _Optional[int] = ...) -> None: ...

class ListSessionsResponse(_message.Message):
    __slots__ = ("sessions", "total")
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    sessions: _containers.RepeatedCompositeFieldContainer[SessionInfo]
    total: int
    def __init__(self, sessions: _Optional[_Iterable[_Union[SessionInfo, _Mapping]]] = ..., total: _Optional[int] = ...) -> None: ...

class GetSessionRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class SessionInfo(_message.Message):
    __slots__ = ("session_id", "kind", "mode", "state", "user", "org", "device_id", "target_id", "target_kind", "container_id", "grant_expires_unix_micros", "exec_id", "pid", "cols", "rows", "binary", "opened_unix_micros", "started_unix_micros", "setup_ms", "age_ms", "bytes_from_peer", "bytes_to_peer", "ice_state", "peer_state", "transport", "transport_error")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    ORG_FIELD_NUMBER: _ClassVar[int]
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_ID_FIELD_NUMBER: _ClassVar[int]
    TARGET_KIND_FIELD_NUMBER: _ClassVar[int]
    CONTAINER_ID_FIELD_NUMBER: _ClassVar[int]
    GRANT_EXPIRES_UNIX_MICROS_FIELD_NUMBER: _ClassVar[int]
    EXEC_ID_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    COLS_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    BINARY_FIELD_NUMBER: _ClassVar[int]
    OPENED_UNIX_MICROS_FIELD_NUMBER: _ClassVar[int]
    STARTED_UNIX_MICROS_FIELD_NUMBER: _ClassVar[int]
    SETUP_MS_FIELD_NUMBER: _ClassVar[int]
    AGE_MS_FIELD_NUMBER: _ClassVar[int]
    BYTES_FROM_PEER_FIELD_NUMBER: _ClassVar[int]
    BYTES_TO_PEER_FIELD_NUMBER: _ClassVar[int]
    ICE_STATE_FIELD_NUMBER: _ClassVar[int]
    PEER_STATE_FIELD_NUMBER: _ClassVar[int]
    TRANSPORT_FIELD_NUMBER: _ClassVar[int]
    TRANSPORT_ERROR_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    kind: str
    mode: str
    state: str
    user: str
    org: str
    device_id: str
    target_id: str
    target_kind: str
    container_id: str
    grant_expires_unix_micros: int
    exec_id: str
    pid: int
    cols: int
    rows: int
    binary: bool
    opened_unix_micros: int
    started_unix_micros: int
    setup_ms: float
    age_ms: int
    bytes_from_peer: int
    bytes_to_peer: int
    ice_state: str
    peer_state: str
    transport: _sidecar_pb2.SessionStats
    transport_error: str
    def __init__(self, session_id: _Optional[str] = ..., kind: _Optional[str] = ..., mode: _Optional[str] = ..., state: _Optional[str] = ..., user: _Optional[str] = ..., org: _Optional[str] = ..., device_id: _Optional[str] = ..., target_id: _Optional[str] = ..., target_kind: _Optional[str] = ..., container_id: _Optional[str] = ..., grant_expires_unix_micros: _Optional[int] = ..., exec_id: _Optional[str] = ..., pid: _Optional[int] = ..., cols: _Optional[int] = ..., rows: _Optional[int] = ..., binary: _Optional[bool] = ..., opened_unix_micros: _Optional[int] = ..., started_unix_micros: _Optional[int] = ..., setup_ms: _Optional[float] = ..., age_ms: _Optional[int] = ..., bytes_from_peer: _Optional[int] = ..., bytes_to_peer: _Optional[int] = ..., ice_state: _Optional[str] = ..., peer_state: _Optional[str] = ..., transport: _Optional[_Union[_sidecar_pb2.SessionStats, _Mapping]] = ..., transport_error: _Optional[str] = ...) -> None: ...

class AdminWatchEventsRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class AdminEvent(_message.Message):
    __slots__ = ("name", "session_id", "time_unix_micros", "fields")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_UNIX_MICROS_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    name: str
    session_id: str
    time_unix_micros: int
    fields: _struct_pb2.Struct
    def __init__(self, name: _Optional[str] = ..., session_id: _Optional[str] = ..., time_unix_micros: _Optional[int] = ..., fields: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class AdminCloseSessionRequest(_message.Message):
    __slots__ = ("session_id", "reason")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    reason: str
    def __init__(self, session_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class AdminCloseSessionResponse(_message.Message):
    __slots__ = ("processes_killed", "reason")
    PROCESSES_KILLED_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    processes_killed: int
    reason: str
    def __init__(self, processes_killed: _Optional[int] = ..., reason: _Optional[str] = ...) -> None: ...

class AdminGetStatsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class AgentStats(_message.Message):
    __slots__ = ("device_id", "uptime_ms", "sessions_open", "max_sessions", "sessions_requested", "sessions_started", "sessions_failed", "sessions_ended", "failed_by_reason", "ended_by_reason", "open_by_kind", "bytes_from_peers", "bytes_to_peers", "transport_bytes_sent", "transport_bytes_received", "setup_ms_mean", "setup_ms_max", "targets", "sidecar_restarts", "signaling_connected")
    class FailedByReasonEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class EndedByReasonEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    class OpenByKindEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    UPTIME_MS_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_OPEN_FIELD_NUMBER: _ClassVar[int]
    MAX_SESSIONS_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_STARTED_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_FAILED_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_ENDED_FIELD_NUMBER: _ClassVar[int]
    FAILED_BY_REASON_FIELD_NUMBER: _ClassVar[int]
    ENDED_BY_REASON_FIELD_NUMBER: _ClassVar[int]
    OPEN_BY_KIND_FIELD_NUMBER: _ClassVar[int]
    BYTES_FROM_PEERS_FIELD_NUMBER: _ClassVar[int]
    BYTES_TO_PEERS_FIELD_NUMBER: _ClassVar[int]
    TRANSPORT_BYTES_SENT_FIELD_NUMBER: _ClassVar[int]
    TRANSPORT_BYTES_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    SETUP_MS_MEAN_FIELD_NUMBER: _ClassVar[int]
    SETUP_MS_MAX_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    SIDECAR_RESTARTS_FIELD_NUMBER: _ClassVar[int]
    SIGNALING_CONNECTED_FIELD_NUMBER: _ClassVar[int]
    device_id: str
    uptime_ms: int
    sessions_open: int
    max_sessions: int
    sessions_requested: int
    sessions_started: int
    sessions_failed: int
    sessions_ended: int
    failed_by_reason: _containers.ScalarMap[str, int]
    ended_by_reason: _containers.ScalarMap[str, int]
    open_by_kind: _containers.ScalarMap[str, int]
    bytes_from_peers: int
    bytes_to_peers: int
    transport_bytes_sent: int
    transport_bytes_received: int
    setup_ms_mean: float
    setup_ms_max: float
    targets: int
    sidecar_restarts: int
    signaling_connected: bool
    def __init__(self, device_id: _Optional[str] = ..., uptime_ms: _Optional[int] = ..., sessions_open: _Optional[int] = ..., max_sessions: _Optional[int] = ..., sessions_requested: _Optional[int] = ..., sessions_started: _Optional[int] = ..., sessions_failed: _Optional[int] = ..., sessions_ended: _Optional[int] = ..., failed_by_reason: _Optional[_Mapping[str, int]] = ..., ended_by_reason: _Optional[_Mapping[str, int]] = ..., open_by_kind: _Optional[_Mapping[str, int]] = ..., bytes_from_peers: _Optional[int] = ..., bytes_to_peers: _Optional[int] = ..., transport_bytes_sent: _Optional[int] = ..., transport_bytes_received: _Optional[int] = ..., setup_ms_mean: _Optional[float] = ..., setup_ms_max: _Optional[float] = ..., targets: _Optional[int] = ..., sidecar_restarts: _Optional[int] = ..., signaling_connected: _Optional[bool] = ...) -> None: ...

class HealthRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class HealthResponse(_message.Message):
    __slots__ = ("ok", "problems", "device_id", "agent_pid", "uptime_ms", "accepting", "signaling_connected", "server_url", "signaling_state", "signaling_disconnected_ms", "signaling_failed_attempts", "signaling_last_error", "sidecar", "metrics_address", "admin_socket", "admin_tls_address")
    OK_FIELD_NUMBER: _ClassVar[int]
    PROBLEMS_FIELD_NUMBER: _ClassVar[int]
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    AGENT_PID_FIELD_NUMBER: _ClassVar[int]
    UPTIME_MS_FIELD_NUMBER: _ClassVar[int]
    ACCEPTING_FIELD_NUMBER: _ClassVar[int]
    SIGNALING_CONNECTED_FIELD_NUMBER: _ClassVar[int]
    SERVER_URL_FIELD_NUMBER: _ClassVar[int]
    SIGNALING_STATE_FIELD_NUMBER: _ClassVar[int]
    SIGNALING_DISCONNECTED_MS_FIELD_NUMBER: _ClassVar[int]
    SIGNALING_FAILED_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    SIGNALING_LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    SIDECAR_FIELD_NUMBER: _ClassVar[int]
    METRICS_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    ADMIN_SOCKET_FIELD_NUMBER: _ClassVar[int]
    ADMIN_TLS_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    ok: bool
    problems: _containers.RepeatedScalarFieldContainer[str]
    device_id: str
    agent_pid: int
    uptime_ms: int
    accepting: bool
    signaling_connected: bool
    server_url: str
    signaling_state: str
    signaling_disconnected_ms: int
    signaling_failed_attempts: int
    signaling_last_error: str
    sidecar: SidecarHealth
    metrics_address: str
    admin_socket: str
    admin_tls_address: str
    def __init__(self, ok: _Optional[bool] = ..., problems: _Optional[_Iterable[str]] = ..., device_id: _Optional[str] = ..., agent_pid: _Optional[int] = ..., uptime_ms: _Optional[int] = ..., accepting: _Optional[bool] = ..., signaling_connected: _Optional[bool] = ..., server_url: _Optional[str] = ..., signaling_state: _Optional[str] = ..., signaling_disconnected_ms: _Optional[int] = ..., signaling_failed_attempts: _Optional[int] = ..., signaling_last_error: _Optional[str] = ..., sidecar: _Optional[_Union[SidecarHealth, _Mapping]] = ..., metrics_address: _Optional[str] = ..., admin_socket: _Optional[str] = ..., admin_tls_address: _Optional[str] = ...) -> None: ...

class SidecarHealth(_message.Message):
    __slots__ = ("ready", "pid", "restarts", "status", "check_ms", "socket", "sessions")
    READY_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    RESTARTS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CHECK_MS_FIELD_NUMBER: _ClassVar[int]
    SOCKET_FIELD_NUMBER: _ClassVar[int]
    SESSIONS_FIELD_NUMBER: _ClassVar[int]
    ready: bool
    pid: int
    restarts: int
    status: str
    check_ms: float
    socket: str
    sessions: int
    def __init__(self, ready: _Optional[bool] = ..., pid: _Optional[int] = ..., restarts: _Optional[int] = ..., status: _Optional[str] = ..., check_ms: _Optional[float] = ..., socket: _Optional[str] = ..., sessions: _Optional[int] = ...) -> None: ...

class DiagnoseRequest(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class Diagnosis(_message.Message):
    __slots__ = ("session_id", "live", "end_reason", "ended_unix_micros", "ice_server_urls", "relay_policy", "ice_state", "peer_state", "ice", "ice_error", "hints")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    LIVE_FIELD_NUMBER: _ClassVar[int]
    END_REASON_FIELD_NUMBER: _ClassVar[int]
    ENDED_UNIX_MICROS_FIELD_NUMBER: _ClassVar[int]
    ICE_SERVER_URLS_FIELD_NUMBER: _ClassVar[int]
    RELAY_POLICY_FIELD_NUMBER: _ClassVar[int]
    ICE_STATE_FIELD_NUMBER: _ClassVar[int]
    PEER_STATE_FIELD_NUMBER: _ClassVar[int]
    ICE_FIELD_NUMBER: _ClassVar[int]
    ICE_ERROR_FIELD_NUMBER: _ClassVar[int]
    HINTS_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    live: bool
    end_reason: str
    ended_unix_micros: int
    ice_server_urls: _containers.RepeatedScalarFieldContainer[str]
    relay_policy: str
    ice_state: str
    peer_state: str
    ice: _sidecar_pb2.IceDiagnosis
    ice_error: str
    hints: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, session_id: _Optional[str] = ..., live: _Optional[bool] = ..., end_reason: _Optional[str] = ..., ended_unix_micros: _Optional[int] = ..., ice_server_urls: _Optional[_Iterable[str]] = ..., relay_policy: _Optional[str] = ..., ice_state: _Optional[str] = ..., peer_state: _Optional[str] = ..., ice: _Optional[_Union[_sidecar_pb2.IceDiagnosis, _Mapping]] = ..., ice_error: _Optional[str] = ..., hints: _Optional[_Iterable[str]] = ...) -> None: ...

class DoctorRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DoctorResponse(_message.Message):
    __slots__ = ("ok", "checks")
    OK_FIELD_NUMBER: _ClassVar[int]
    CHECKS_FIELD_NUMBER: _ClassVar[int]
    ok: bool
    checks: _containers.RepeatedCompositeFieldContainer[DoctorCheck]
    def __init__(self, ok: _Optional[bool] = ..., checks: _Optional[_Iterable[_Union[DoctorCheck, _Mapping]]] = ...) -> None: ...

class DoctorCheck(_message.Message):
    __slots__ = ("name", "status", "detail", "elapsed_ms")
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    ELAPSED_MS_FIELD_NUMBER: _ClassVar[int]
    name: str
    status: str
    detail: str
    elapsed_ms: float
    def __init__(self, name: _Optional[str] = ..., status: _Optional[str] = ..., detail: _Optional[str] = ..., elapsed_ms: _Optional[float] = ...) -> None: ...
