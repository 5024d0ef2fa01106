// Package proto is the versioned gRPC contract between the crmkit plugin
// host (package plugins) and plugins (written with package plugins/sdk, or
// in any language with gRPC, from plugin.proto).
//
// A plugin serves the Plugin service; the host serves the Host service back
// to it through go-plugin's broker. The protocol version is negotiated by
// go-plugin's handshake: the host offers every version from
// MinProtocolVersion to ProtocolVersion, the plugin answers with the
// highest it speaks.
//
//   - Version 1: Describe, Before (veto only) and Deliver.
//   - Version 2: adds before-hook field changes (BeforeResponse.changes)
//     and the Host service (host_service and grant in requests).
//   - Version 3: adds the before-hook channel (OpenChannel, ChannelCall,
//     ChannelResult): before-hook calls as length-prefixed protobuf
//     frames over a mutual-TLS socket of the plugin's, cheaper than a
//     gRPC call. A plugin without it is called through Before.
//
// Fields are only ever added, never renumbered or retyped, so older
// plugins keep working with newer hosts.
//
// The generated files are committed. To regenerate them after changing
// plugin.proto (protoc from Debian's protobuf-compiler package, and the Go
// generators installed with `go install
// google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.11
// google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.0`), run in this
// directory:
//
//	protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative plugin.proto
//
// This package imports only the protobuf and gRPC runtimes.
package proto

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative plugin.proto

// The handshake every plugin and host agree on. A plugin executable run
// without the cookie in its environment refuses to start (it was run by
// hand, not by a host).
const (
	MagicCookieKey   = "CRMKIT_PLUGIN"
	MagicCookieValue = "9f1c6e0a-crmkit-plugin"
	// PluginName is the name the plugin is dispensed under.
	PluginName = "crmkit"
	// ProtocolVersion is the newest protocol version.
	ProtocolVersion = 3
	// MinProtocolVersion is the oldest protocol version hosts still run.
	MinProtocolVersion = 1
)
