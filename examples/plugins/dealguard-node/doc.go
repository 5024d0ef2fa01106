// Package dealguardnode holds the deal guard plugin written in Node.js
// (plugin.js, with @grpc/grpc-js), and its test, which runs it under the
// Go plugin host. It proves a plugin vendor needs no Go: the plugin serves
// plugins/proto/plugin.proto and go-plugin's handshake itself.
package dealguardnode
