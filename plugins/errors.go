package plugins

import (
	"errors"
	"fmt"
)

// Conditions a plugin failure matches with errors.Is. Every failure is an
// *Error naming the plugin and what it was doing.
var (
	// ErrPluginFailed matches every *Error.
	ErrPluginFailed = errors.New("plugin failed")
	// ErrChecksum: the executable does not match its configured SHA-256, or
	// has none configured. It is never run.
	ErrChecksum = errors.New("executable does not match its checksum")
	// ErrUnavailable: the plugin is not running (it crashed, or is being
	// restarted), or its process went away during the call.
	ErrUnavailable = errors.New("plugin unavailable")
	// ErrTimeout: the plugin did not answer within its deadline.
	ErrTimeout = errors.New("plugin deadline exceeded")
	// ErrMalformed: the plugin's answer made no sense (bad JSON, a change to
	// a field that does not exist or that the CRM owns, a change that makes
	// the record fail the CRM's validation, a partial acknowledgement, a
	// manifest it may not declare).
	ErrMalformed = errors.New("malformed plugin response")
	// ErrTooLarge: the plugin's answer exceeded the host's size limit.
	ErrTooLarge = errors.New("plugin response too large")
	// ErrProtocol: the plugin speaks no protocol version the host runs, or
	// failed the handshake.
	ErrProtocol = errors.New("plugin protocol mismatch")
	// ErrCapability: the plugin asked the host for something beyond its
	// declared capabilities, or a before-hook would hand it a record of a
	// kind its role may not read.
	ErrCapability = errors.New("capability not granted")
	// ErrWorkspace: the plugin asked for another workspace than the one of
	// its call or one it is not configured for (Spec.Workspaces), or used a
	// grant that expired.
	ErrWorkspace = errors.New("workspace not granted")
	// ErrManifestChanged: a restarted plugin declared another manifest
	// than the one it was loaded with (more capabilities, say). It is not
	// restarted; loading it again (a new Host) approves the change.
	ErrManifestChanged = errors.New("plugin manifest changed since it was loaded")
)

// Error is a plugin failure: the plugin, the operation ("start", "before
// deal.created", "deliver", "host get") and the cause, which matches one of
// the Err conditions above.
type Error struct {
	Plugin string
	Op     string
	Err    error
}

func (e *Error) Error() string { return fmt.Sprintf("plugins: %s: %s: %v", e.Plugin, e.Op, e.Err) }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is ErrPluginFailed.
func (e *Error) Is(target error) bool { return target == ErrPluginFailed }

// VetoError is a write refused by a plugin's before-hook. The CRM returns
// it wrapped in a *crm.VetoError (errors.Is(err, crm.ErrVetoed)).
type VetoError struct {
	Plugin string
	Reason string
}

func (e *VetoError) Error() string { return fmt.Sprintf("plugins: %s vetoed: %s", e.Plugin, e.Reason) }
