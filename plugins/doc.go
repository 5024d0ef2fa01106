// Package plugins runs crmkit plugins: separate executables, written with
// plugins/sdk in Go or in any language that speaks the gRPC contract in
// plugins/proto, loaded with hashicorp/go-plugin.
//
//	host, err := plugins.Open(ctx, c, plugins.Config{
//		Plugins: []plugins.Spec{{Path: "./deal-guard", SHA256: sum, Timeout: 100 * time.Millisecond}},
//		Logger:  logger,
//	})
//	defer host.Close()
//
// For each plugin the host verifies the executable's SHA-256 on the file it
// then runs (on Linux through its descriptor, so that nothing renamed over
// the path after the check runs instead), with the environment configured
// for it (Spec.Env; nothing of the host's but PATH) and the null device as
// stdin, in a process group of its own and, on Linux where the system
// allows it, a PID namespace of its own (Info.Contained), so that
// stopping it stops everything it started. It connects over gRPC with
// mutual TLS on one-time certificates (AutoMTLS), negotiates the protocol
// version, and reads the plugin's manifest: the events it wants before and
// after commit, and its capabilities, pinned for the life of the Host. All
// of that happens within Config.StartTimeout, and plugins start side by
// side. The plugin's output reaches the host's slog logger, throttled
// before it is parsed, prefixed and escaped so that it cannot pass for the
// host's or another plugin's. A health check watches it and a plugin that
// crashes or stops answering is restarted with exponential backoff. Plugin
// processes end with Close, which returns within seconds whatever they do,
// and with the host process however it ends (on Linux the kernel kills
// them; plugins built with the SDK also exit when their parent does).
//
// # Before-hooks
//
// A plugin's before-hooks are bound to the CRM's hooks (after in-process
// ones) and run inside the write's transaction, under the plugin's
// deadline. A veto refuses the write with a *crm.VetoError wrapping a
// *VetoError; field changes are applied to the record, which the CRM
// validates again. The host calls a plugin's before-hooks on its
// before-hook channel where it has one (protocol version 3; the SDK's
// plugins do), on the write's goroutine: length-prefixed protobuf frames
// over a mutual-TLS socket of the plugin's, about a raw socket round trip
// where a gRPC call costs twice that; otherwise through gRPC. A plugin
// that fails — crashes, misses its deadline, answers nonsense or too much
// — is handled by its Policy: FailClosed refuses the write with an
// *Error, FailOpen lets it through and records the failure.
//
// # After-events
//
// Each plugin's events are delivered from the CRM's durable outbox by a
// crm.Dispatcher under the consumer name ConsumerName(plugin), in batches,
// acknowledged by the plugin. While a plugin is down, its cursor waits, so
// a plugin that comes back receives every event it missed. A delivery the
// plugin crashes on is a failed attempt across its restarts: a batch that
// keeps crashing it is split, and the one event it crashes on is
// dead-lettered after the dispatcher's attempts, so delivery goes on.
//
// # Security
//
// A plugin reaches CRM data only through the host service, served to it
// through go-plugin's broker, and only in the workspaces it is configured
// for (Spec.Workspaces). Every call carries a grant issued for the
// plugin's current call: it names one workspace, allows writes only after
// commit, and ends with the call. The host refuses a call for another
// workspace or beyond the plugin's capabilities (for every kind the
// answer holds) with codes.PermissionDenied (counted in Info.Violations),
// and validates every write through the CRM's own API. A plugin runs as
// the host's OS user unless Spec.User names another, which keeps it from
// the host's files and memory: see the threat model in the package's
// README.
//
// # Access policies
//
// In a workspace with an access policy (crm.Policy), a plugin acts as the
// principal PrincipalID(name) with one role: Spec.Role, else the role its
// manifest asks for (the capability "role:<name>"), else DefaultRole; a
// manifest asking for another role than Spec.Role is refused at start.
// Every host service call runs as that principal, so both the plugin's
// capabilities and its role must allow it: a record the role does not
// reach is not found, a refused action is codes.PermissionDenied, and
// hidden fields come back empty. After-events are delivered only for the
// records the role reads, redacted as Workspace.Changes redacts them. A
// before-hook of a kind the role may not read fails with ErrCapability
// under the plugin's failure Policy; otherwise the hook is handed the
// write's record as the role sees it (or not called, for a record out of
// the role's scope), reads the write's transaction as the role sees it,
// and may not change a field hidden or read-only for the role.
//
// This package imports the crm, hooks, plugins/proto and
// plugins/internal/wire packages, gRPC and go-plugin; package crm knows
// nothing of it.
package plugins
