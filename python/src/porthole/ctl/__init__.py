"""`porthole ctl`: debug live sessions through the agent's admin gRPC API
(proto/porthole/rpc/v1/admin.proto). See docs/ctl.md."""
