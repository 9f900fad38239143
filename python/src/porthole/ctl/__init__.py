"""`porthole ctl`: debug live sessions through the agent's admin gRPC API
(proto/porthole/rpc/v1/admin.proto). See docs/ctl.md."""

import os

# gRPC's C core logs handshake failures to stderr on its own; ctl reports
# every failure itself, in one line. Set before grpc is first imported.
os.environ.setdefault("GRPC_VERBOSITY", "NONE")
