package plugins

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/crmkit/crmkit/crm"
)

// Policy says what a failed before-hook does to the write: a plugin that
// crashed, missed its deadline or answered nonsense (a veto is not a
// failure: it always refuses the write).
type Policy int

const (
	// FailClosed refuses the write with the plugin's *Error (wrapped in a
	// *crm.VetoError). The default: a guard that cannot run does not let
	// writes through.
	FailClosed Policy = iota
	// FailOpen lets the write proceed, and records the failure (logged,
	// and counted in Info.Failures).
	FailOpen
)

func (p Policy) String() string {
	if p == FailOpen {
		return "fail-open"
	}
	return "fail-closed"
}

// Spec configures one plugin.
type Spec struct {
	// Name identifies the plugin in hook IDs ("plugin:<name>"), its
	// delivery cursor (consumer "plugin:<name>", so it resumes where it
	// stopped across restarts of the host) and logs. It defaults to the
	// executable's file name.
	Name string
	// Path is the plugin executable (a script with a #! line is fine: the
	// checksum covers the script).
	Path string
	Args []string
	// SHA256 is the executable's checksum, in hex. A plugin without one,
	// or whose executable does not match it, is never run.
	SHA256 string
	// Env is the plugin's environment ("KEY=value"): the plugin receives
	// it, the host's PATH unless Env sets PATH (so that a script's
	// "#!/usr/bin/env" line finds its interpreter), go-plugin's handshake
	// variables, and nothing else of the host's environment. Its stdin is
	// the null device.
	Env []string
	// Timeout is the before-hook deadline (default 250ms).
	Timeout time.Duration
	// Policy is the before-hook failure policy (default FailClosed).
	Policy Policy
	// Role is the role, of the workspaces' access policies (crm.Policy),
	// the plugin acts with: everything it reads and writes through the
	// host service, and the events delivered to it, are what a principal
	// with ID PrincipalID(Name) and this one role may see and do. It
	// defaults to the role the plugin's manifest asks for ("role:<name>"),
	// and without one to DefaultRole. A plugin whose manifest asks for
	// another role than a Role set here is refused at start. In a
	// workspace without a policy the role changes nothing.
	Role string
	// Capabilities, if not nil, are the capabilities the host grants the
	// plugin ("read:<kind>", "write:<kind>", kind "*" for all): a plugin
	// whose manifest declares one beyond them is refused at start
	// (ErrCapability). Nil grants what the manifest declares when the
	// plugin is loaded. Either way, what a plugin was loaded with is
	// pinned: a restarted plugin declaring another manifest is not
	// restarted (ErrManifestChanged) until the host loads it again.
	Capabilities []string
	// Workspaces are the IDs of the workspaces the plugin is configured
	// for: it runs before their writes, receives their events and reaches
	// their records through the host service, and nothing of any other
	// workspace. []string{AllWorkspaces} configures it for every
	// workspace. Nil does too, as hosts did before this setting existed,
	// and the host logs a warning at start saying so; an empty, non-nil
	// list configures it for none.
	Workspaces []string
	// User, if set, is the OS user the plugin runs as (a name or a
	// numeric ID), with that user's group, on Unix systems: it then cannot
	// read the host's files or its memory (see the threat model in the
	// package's README). The host needs the right to change user (root,
	// or CAP_SETUID and CAP_SETGID), the executable must be executable by
	// that user, and Config.SocketGroup must name a group the host is in.
	// A host that is not root runs such a plugin without a PID namespace
	// (Info.Contained is false).
	User string
}

// Config configures a Host.
type Config struct {
	// Dir, if set, holds plugin executables: every executable regular file
	// in it is a plugin named by its file name, with its checksum taken
	// from Checksums (or the SHA256SUMS file in Dir, in sha256sum's format)
	// and the defaults below.
	Dir string
	// Checksums maps a plugin name in Dir to its SHA-256 in hex.
	Checksums map[string]string
	// Plugins are configured explicitly, in addition to those in Dir.
	Plugins []Spec
	// Timeout, Policy, Role, Capabilities and Workspaces apply to plugins
	// found in Dir (see Spec).
	Timeout      time.Duration
	Policy       Policy
	Role         string
	Capabilities []string
	Workspaces   []string
	// SocketGroup is a group the host is a member of, for plugins that
	// run as another user (Spec.User): those join it, and the sockets
	// between host and plugin belong to it and are writable by it, so that
	// each side reaches the other's.
	SocketGroup string
	// Logger receives the host's and the plugins' logs (default: discard).
	Logger *slog.Logger
	// MaxMessageBytes bounds every message a plugin sends (default 4 MiB).
	MaxMessageBytes int
	// LogLinesPerSecond is each plugin's log budget (default 200).
	LogLinesPerSecond int
	// HealthInterval is how often a running plugin is health-checked
	// (default 1s).
	HealthInterval time.Duration
	// RestartBackoff is the wait before restarting a crashed plugin,
	// doubled on each crash up to MaxRestartBackoff (defaults 100ms, 30s);
	// it resets once a plugin has stayed up for a minute.
	RestartBackoff, MaxRestartBackoff time.Duration
	// StartTimeout bounds a plugin's whole start (default 10s): checking
	// its executable, the handshake, the TLS connection and its manifest.
	// A plugin not started by then is killed, with everything it started,
	// and fails with ErrTimeout; the others do not wait for it.
	StartTimeout time.Duration
	// Dispatch configures each plugin's after-event delivery (batch size,
	// attempts before dead-lettering, delivery timeout; see
	// crm.NewDispatcher). The host's default lease is 5s, so a restarted
	// host resumes delivery within seconds.
	Dispatch []crm.DispatcherOption
}

func (c *Config) defaults() {
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = 4 << 20
	}
	if c.LogLinesPerSecond <= 0 {
		c.LogLinesPerSecond = 200
	}
	if c.HealthInterval <= 0 {
		c.HealthInterval = time.Second
	}
	if c.RestartBackoff <= 0 {
		c.RestartBackoff = 100 * time.Millisecond
	}
	if c.MaxRestartBackoff <= 0 {
		c.MaxRestartBackoff = 30 * time.Second
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = 10 * time.Second
	}
}

// specs returns every configured plugin: those in Dir, then Plugins.
func (c *Config) specs() ([]Spec, error) {
	var out []Spec
	if c.Dir != "" {
		found, err := Discover(c.Dir)
		if err != nil {
			return nil, err
		}
		sums := c.Checksums
		if sums == nil {
			if sums, err = ReadChecksums(filepath.Join(c.Dir, "SHA256SUMS")); err != nil && !os.IsNotExist(err) {
				return nil, err
			}
		}
		for _, path := range found {
			name := filepath.Base(path)
			out = append(out, Spec{
				Name: name, Path: path, SHA256: sums[name], Timeout: c.Timeout, Policy: c.Policy, Role: c.Role,
				Capabilities: c.Capabilities, Workspaces: c.Workspaces,
			})
		}
	}
	out = append(out, c.Plugins...)
	seen := map[string]bool{}
	for i := range out {
		s := &out[i]
		if s.Name == "" {
			s.Name = filepath.Base(s.Path)
		}
		if s.Timeout <= 0 {
			s.Timeout = 250 * time.Millisecond
		}
		if s.Path == "" || seen[s.Name] {
			return nil, fmt.Errorf("plugins: plugin %q: needs a path and a name no other plugin has", s.Name)
		}
		if s.Role != "" && !validRole(s.Role) {
			return nil, fmt.Errorf("plugins: plugin %q: role %q is not a role name (1 to %d bytes, no spaces)", s.Name, s.Role, maxRoleBytes)
		}
		for _, c := range s.Capabilities {
			if !validCapability(c) {
				return nil, fmt.Errorf("plugins: plugin %q: capability %q is not read:<kind> or write:<kind>", s.Name, c)
			}
		}
		if s.User != "" && c.SocketGroup == "" {
			return nil, fmt.Errorf("plugins: plugin %q: runs as user %q, which takes a Config.SocketGroup", s.Name, s.User)
		}
		for _, ws := range s.Workspaces {
			if ws == "" {
				return nil, fmt.Errorf("plugins: plugin %q: an empty workspace ID", s.Name)
			}
		}
		seen[s.Name] = true
	}
	return out, nil
}

// Discover lists the executable regular files in dir, in name order.
func Discover(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("plugins: discover: %w", err)
	}
	var out []string
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || !info.Mode().IsRegular() || info.Mode().Perm()&0o111 == 0 {
			continue
		}
		out = append(out, filepath.Join(dir, e.Name()))
	}
	sort.Strings(out)
	return out, nil
}

// ReadChecksums reads a checksum file in the format sha256sum writes
// ("<hex>  <file name>" per line) into a map from file name to checksum.
func ReadChecksums(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		sum, name, ok := strings.Cut(line, " ")
		if !ok {
			return nil, fmt.Errorf("plugins: %s:%d: want \"<sha256>  <file>\"", path, n)
		}
		out[filepath.Base(strings.TrimLeft(strings.TrimSpace(name), "*"))] = sum
	}
	return out, sc.Err()
}

// FileSHA256 returns the SHA-256 of a file in hex: what Spec.SHA256 holds.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
