// Package crm is the domain of crmkit: workspaces, contacts, companies,
// pipelines and deals, activities, purchases, custom fields, history and
// the timeline. It is the only place business rules live.
//
// A CRM runs over any store.Store (the embedded Badger default, memory, or
// PostgreSQL). Every record belongs to one workspace, a tenant of the host
// application, and the workspace is part of every key: a *Workspace handle
// cannot read or change another workspace's records.
//
//	c := crm.New(st)
//	ws, err := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "acme", Name: "Acme"})
//	ada, err := ws.Contacts().Create(ctx, crm.Contact{FirstName: "Ada", Emails: []string{"ada@example.com"}})
//
// # One write path
//
// Every change goes through one path: validate, then one store transaction
// that writes the record, its index entries and its history entry, then
// commit. A write that loses a concurrency conflict is retried from the
// start; a write that pins a version with IfVersion fails with ErrConflict
// instead when the record moved on. A rejected write leaves nothing behind.
//
// # Errors
//
// Invalid input is a *ValidationError naming every failing field and why
// (errors.Is(err, ErrInvalid)); a missing record matches ErrNotFound; a lost
// optimistic lock matches ErrConflict. Batch calls report each rejected item
// in a *BatchError and keep the others.
//
// # Imports
//
// This package imports the standard library, msgpack and the project's
// store and hooks packages, nothing heavier: no storage engine, no RPC.
package crm
