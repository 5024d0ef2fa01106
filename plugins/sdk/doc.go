// Package sdk is what a crmkit plugin author imports: a plugin is a main
// package whose value implements Plugin (and BeforeHook, EventHandler or
// both) and calls Serve.
//
//	type guard struct{}
//
//	func (guard) Manifest() sdk.Manifest {
//		return sdk.Manifest{Name: "guard", Version: "1.0.0", Before: []string{"deal.created"}}
//	}
//
//	func (guard) Before(ctx context.Context, w *sdk.Write) error {
//		var d crm.Deal
//		if err := w.Decode(&d); err != nil {
//			return err
//		}
//		if d.CompanyID == "" {
//			return sdk.Veto("a deal needs a company")
//		}
//		return nil
//	}
//
//	func main() { sdk.Serve(guard{}) }
//
// A plugin that reads or writes CRM data through the Host it is handed
// declares Capabilities in its Manifest, and may name the Role it asks to
// act with in workspaces under an access policy: there it sees and changes
// only what both allow.
//
// Records travel as their JSON form, so a plugin decodes them into the crm
// package's types (crm.Contact, crm.Deal, ...) or into its own structs. The
// plugin talks to the host over gRPC with go-plugin (see plugins/proto),
// and serves its before-hooks on the before-hook channel of protocol
// version 3 as well (mutual TLS on a socket of its own, a round trip
// cheaper than a gRPC call); writing a plugin in another language means
// serving that contract, where the channel is optional.
//
// This package imports the standard library, go-plugin, gRPC, the
// project's plugins/proto and plugins/internal/wire (the channel's
// frames and certificates, shared with the host), and nothing of the
// host.
package sdk
