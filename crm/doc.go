// Package crm is the domain of crmkit: workspaces, contacts, companies,
// pipelines and deals, activities, purchases, custom fields, history and
// the timeline. It is the only place business rules live.
//
// A CRM runs over any store.Store (the embedded Badger default, memory, or
// PostgreSQL). Every record belongs to one workspace, a tenant of the host
// application, and the workspace's key space is part of every key: a
// *Workspace handle cannot read or change another workspace's records.
// Each workspace gets a key space of its own when it is created (a short
// number, so keys stay short); deleting a workspace unregisters it and
// purges its space in resumable steps, so a workspace created again with
// the same ID starts empty.
//
// Open (or New, then Resume) also upgrades a store written by an older
// version: it migrates each workspace into a key space of its own and
// finishes purges a crash interrupted. A CRM made with New migrates a
// workspace when it is first opened.
//
//	c := crm.New(st)
//	ws, err := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "acme", Name: "Acme"})
//	ada, err := ws.Contacts().Create(ctx, crm.Contact{FirstName: "Ada", Emails: []string{"ada@example.com"}})
//
// # Map
//
// Where each part is, from a *Workspace (ws) unless named otherwise:
//
//   - Records: ws.Contacts, Companies, Deals (Move, Win, Lose, Summary),
//     Pipelines, Activities (calls, emails, meetings, notes, tasks,
//     tickets), Purchases; custom fields and indexes: ws.Fields,
//     ws.Indexes; history and timeline: ws.History, ws.Timeline.
//   - Several changes in one transaction, and packages built on crm:
//     ws.Update and ws.View (Tx, ReadTx, Space).
//   - Segments and queries: ws.Segments, ws.Query, with filters of package
//     crm/filter (Schema lists the fields); the search box: ws.Search.
//   - Reports and forecasting: package crm/report.
//   - Automation (rules, timers, routing, scoring, sequences): package
//     crm/automation.
//   - Change feed and delivery: ws.Changes and ws.Watch; CRM.NewDispatcher
//     for durable consumers; CRM.Hooks for before- and after-hooks.
//   - Duplicates and merge: Contacts.FindDuplicates, Contacts.Merge and
//     the companies' counterparts.
//   - Privacy: Workspace.ExportContact (access) and Contacts.Erase
//     (erasure).
//   - Backup and restore: CRM.Backup, CRM.Restore; consistency check:
//     ws.Check.
//   - Import and export of files: package crmio.
//   - Who may see and change what: ws.SetPolicy, As, Principal (see
//     Access below).
//
// # One write path
//
// Every change goes through one path: validate, then one store transaction
// that writes the record, its index entries and its history entry, then
// commit. A write that loses a concurrency conflict is retried from the
// start; a write that pins a version with IfVersion fails with ErrConflict
// instead when the record moved on. A rejected write leaves nothing behind.
//
// Writes of different records share no key, so concurrent writers of one
// workspace, in one process or many, do not collide: counters are written
// as per-transaction deltas, folded now and then, and the outbox of events
// is numbered by the store at commit where it offers store.Appender (all
// three backends do). Events are stored lean: they name the change and the
// record's versions, and the records are read back when events are
// delivered (see Event).
//
// Each live contact, company and deal also has a column projection, a
// compact row of the fields filters read most (lifecycle, owner, country,
// stages, amounts, dates, short custom values), written with its index
// entries: counts and filters that no index answers exactly read these
// rows instead of decoding records, and Segments().Explain says when.
//
// For bulk loads, use the batch calls (CreateMany, UpdateMany, or package
// crmio's import): they write one transaction per few hundred records and
// each counter once per transaction. On Badger, a store opened with a
// larger memtable (badger.WithMemTableSize(64 << 20)) loads faster; see
// BENCHMARKS.md.
//
// # Kinds
//
// A Kind names a kind of record (KindContact, KindCompany, KindDeal,
// KindActivity, KindPurchase, KindPipeline) or another thing a policy
// grants on (KindSegment, KindWorkspace, AnyKind). It is a struct, so a
// string literal does not convert to it: ws.Query(crm.KindContact, e)
// compiles and ws.Query("contacts", e) does not. A kind named at run time
// (a flag, a URL) goes through ParseKind. Kinds are stored as the strings
// they replaced, so data written before them reads unchanged.
//
// # Transactions and packages built on crm
//
// Workspace.Update runs a function in one write transaction (a *Tx) and
// Workspace.View in one read transaction (a *ReadTx): typed record reads
// and writes through the one write path, filter matches and counts,
// segment members, history, custom and signal events (Tx.Emit), and a
// Space of keys for a package's own state (keys laid out with package
// store/tuple sort as tuples). Records of a kind named at run time are
// read, updated and matched against filters through ReadTx.Record,
// Records, Match and Tx.UpdateRecord; WithCause and Tx.Attribute say on
// whose behalf a change is made. A host application uses them to change several
// records atomically; packages built on crm use nothing else:
//
//   - crm/report: pipeline, forecast with quotas and snapshots, conversion
//     and velocity, lead conversion, churn, revenue, cross-sell,
//     operations, charts.
//   - crm/automation: rules on events, times and schedules, routing to a
//     team, lead scoring, sequences, recipes and dry runs.
//   - crm/filter: the filter language of queries, segments and reports.
//   - crmio: import and export of CSV and JSON.
//
// # Access
//
// A workspace may have an access Policy (Workspace.SetPolicy): who may
// see and change what, enforced here, in the domain, for every caller.
// The caller says who is asking by putting a Principal in the context
// with As: a user ID, its teams and its roles. Trusted host code,
// migrations and automation act as System, explicitly. A workspace
// without a policy lets every call do everything, as before policies
// existed; once it has one, a call without a principal is refused.
//
// A Role grants, per kind (contact, company, deal, activity, purchase,
// pipeline, segment, workspace) and Action (read, create, update,
// delete, export, erase), a Scope: none, own (records the principal
// owns), team (records owned by members of the principal's teams and of
// the teams below them: the policy's TeamDefs form the hierarchy of reps
// and managers) or all. FieldRules hide a field (deal.amount for
// support) or make it read-only. A principal with several roles gets the
// widest scope any grants. BuiltinRoles are admin, manager, rep,
// read_only and integration; a policy's roles override them by name.
// Policies are Go values and JSON, checked by Policy.Check field by field.
//
//	ws.SetPolicy(ctx, crm.Policy{
//		Roles: []crm.Role{{Name: "support",
//			Grants: []crm.Grant{{Kind: crm.AnyKind, Actions: []crm.Action{crm.ActionRead}, Scope: crm.ScopeAll}},
//			Fields: []crm.FieldRule{{Field: "deal.amount", Access: crm.FieldHidden}}}},
//		Teams: []crm.TeamDef{{Name: "east", Members: []string{"ann", "bob"}}},
//	})
//	deals := ws.Deals().List(crm.As(ctx, crm.Principal{ID: "bob", Roles: []string{"rep"}}), crm.ListOptions{})
//
// What a principal may not read does not exist for it: a get is
// ErrNotFound; lists, queries, segment members and counts, duplicates,
// history, timelines, the change feed, exports and reports hold only the
// records its scope reaches, with hidden fields blanked (and left out of
// history diffs and events). A filter, sort or report grouping on a
// hidden field is refused. A write is checked on the record before and
// after it: a rep can neither reach another's deal nor give a deal away,
// nor change a read-only field. A refused call is a *ForbiddenError
// (errors.Is(err, ErrForbidden)) naming the action and kind, never a
// record. A record a principal creates without an owner is its own.
//
// Scopes are answered from the owner index: a rep's list reads one range
// of it, a manager's one range per member merged in ID order, and counts
// come from the counters per owner, so a policy costs a list nothing
// measurable (BENCHMARKS.md). Backups need the workspace's export;
// Restore, CreateWorkspace and DeleteWorkspace, hooks and durable
// dispatchers (NewDispatcher) are host code's and see everything. Packages built on crm inherit the
// principal through the transaction seam: a report as a rep is the rep's
// pipeline, and crm/automation runs rules as System or as a rule's
// RunAs principal.
//
// # Errors
//
// Invalid input is a *ValidationError naming every failing field and why
// (errors.Is(err, ErrInvalid)); a missing record matches ErrNotFound; a lost
// optimistic lock matches ErrConflict. Batch calls report each rejected item
// in a *BatchError and keep the others.
//
// # Limits
//
// Inputs have documented bounds, checked before the store is reached and
// refused field by field: short texts (names, titles, owner and external
// IDs) 256 bytes, long texts 64 KiB, email addresses 254 bytes (their
// local part 64), phone numbers 64 bytes as written, every list
// field (emails, phones, external IDs, links, tags, multi-select values)
// 100 entries and a purchase 1,000 line items, record IDs MaxIDLength
// bytes, amounts MaxAmount minor units; limits of custom fields must be
// finite numbers.
//
// # Identity
//
// Unique keys, lookups, duplicate detection and imports rest on knowing
// when two spellings are one phone number, address, domain or country,
// so the domain leaves that to well-kept libraries and tables rather than
// hand-written rules:
//
//   - Phone numbers: github.com/nyaruka/phonenumbers (Google's
//     libphonenumber and its metadata of every country's number plan:
//     trunk and dial-out prefixes, extensions, valid ranges). A number is
//     stored as written with its E.164 form and extension (Phone), read
//     in the phone's Region or the workspace's PhoneRegion when it has no
//     country code, and indexed and compared by E.164 alone; ParsePhone.
//   - Email addresses: Unicode NFC (golang.org/x/text) and IDNA
//     (golang.org/x/net/idna, lookup profile) for the domain, syntax
//     checked against the subset of RFC 5321/5322 real mail uses; the
//     local part is kept as written and compared case-insensitively
//     (NormalizeEmail, EmailKey: one normaliser for records, lookups,
//     the unique index and duplicate detection).
//   - Company domains: IDNA as for email, and registered domains from the
//     Public Suffix List (golang.org/x/net/publicsuffix), which knows
//     github.io, blogspot.com, me.uk and the wildcard rules of Japan's
//     cities (NormalizeDomain, RegisteredDomain).
//   - Names, for matching only: decomposed and stripped of marks with
//     golang.org/x/text/unicode/norm, plus the letters that do not
//     decompose (ł ø đ ß æ œ þ).
//   - Countries and currencies: complete ISO 3166-1 alpha-2 and ISO 4217
//     tables generated into iso_tables.go from the lists in
//     internal/isogen (NormalizeCountry, ValidCurrency, MinorUnits).
//
// Stores written by versions with the older rules keep working: records
// are read as they were, and phones stored without an E.164 form are
// parsed again (in the workspace's PhoneRegion) when they are indexed or
// compared. Their index entries were keyed by the older rules, so run
// Workspace.Check with Repair once after upgrading: it rebuilds the
// phone, email and domain entries by the new normalisers (until then a
// lookup by another spelling of an address may miss, and two records may
// claim one address, which the check reports as a conflict).
//
// # Imports
//
// This package imports the standard library, msgpack, the project's
// store and hooks packages and the identity libraries above
// (phonenumbers, which brings google.golang.org/protobuf for its
// metadata, golang.org/x/net and golang.org/x/text), nothing heavier: no
// storage engine, no RPC.
package crm
