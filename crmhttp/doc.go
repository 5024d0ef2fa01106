// Package crmhttp serves a CRM over HTTP: a JSON API a host application
// mounts in its own server, next to its own routes, to give web and mobile
// clients and integrations the records of package crm.
//
// The handler knows nobody. The host says who is asking with an
// Authenticator (its sessions, its API keys): it names the workspace and
// the crm.Principal of each request, and every call then runs as that
// principal (crm.As) in that workspace, so the workspace's access policy
// decides what the request may see and change, as it would for a call in
// Go. The handler stores no credentials.
//
//	h := crmhttp.New(c, func(r *http.Request) (string, crm.Principal, error) {
//		u, err := sessions.User(r) // the host's own
//		if err != nil {
//			return "", crm.Principal{}, err // 401
//		}
//		return u.Tenant, crm.Principal{ID: u.ID, Roles: u.Roles}, nil
//	})
//	mux.Handle("/crm/", http.StripPrefix("/crm", h))
//
// The handler's paths start at "/" (GET /contacts), so mount it under any
// prefix with http.StripPrefix as above. Locations it returns are relative
// to the request, so they hold under any prefix.
//
// # Resources
//
// Contacts, companies and deals, at /contacts, /companies and /deals:
//
//   - GET /{kind}: a page of records; ?limit=, ?after= (the previous page's
//     next cursor), ?sort= (created, updated, name, amount for deals),
//     ?desc=true, ?deleted=true, and ?where= a filter in the language of
//     package crm/filter (lifecycle = "customer" AND tags CONTAINS "vip").
//     A filtered list is in ID order; sort and where do not combine. Every
//     page has the shape {"items": [...], "next": "cursor"}.
//   - GET /{kind}/count?where=: {"count": n}, how many live records the
//     principal may read match the filter (all of them without one),
//     answered by the query planner from counters and indexes where it can.
//   - POST /{kind}: create; an Idempotency-Key header makes a retry return
//     the first response (see below).
//   - GET, PATCH, DELETE /{kind}/{id}: PATCH merges the fields of its body
//     into the record (RFC 7396 JSON merge patch: null clears a field,
//     objects merge), through the same update path as a call in Go.
//   - POST /{kind}/batch: create many, with one result per item.
//   - GET /{kind}/{id}/timeline: the record's timeline, newest first, paged.
//   - POST /deals/{id}/move {"stage": "Proposal"}, /win, /lose {"reason"}.
//   - Activities at /activities: GET (paged by ?limit= and ?after=, in the
//     order they were logged), POST (log), GET, PATCH, DELETE
//     /activities/{id}, and POST /activities/{id}/complete {"done": true}.
//   - GET /duplicates?kind=contacts|companies: a page of likely duplicate
//     pairs (crm.Duplicate: A the older record, B the newer, a score and
//     the reasons), ?min_score= (0.5 by default), ?limit= and ?after=. Each
//     page reruns detection from the start and stops once it is full.
//   - POST /contacts/{id}/merge and /companies/{id}/merge {"from": "<id>",
//     "fields": {"first_name": "merged"}}: merge the record from into the
//     one of the path, which survives and is answered (crm.MergeOptions
//     chooses the values it keeps). It needs the policy's update of the
//     survivor and erase of the merged record.
//   - Purchases at /purchases: GET (paged by ?limit= and ?after=, in the
//     order they were recorded; ?contact= or ?company= for one buyer's),
//     POST (record; the CRM computes the total), GET, PATCH, DELETE
//     /purchases/{id} (deleted at any version, as activities).
//   - Pipelines at /pipelines: GET (all of them), POST, GET and PATCH
//     /pipelines/{id}.
//   - Custom fields: GET /fields/{kind}, PUT /fields/{kind}/{name} (define
//     or redefine; the body is a crm.FieldDef), DELETE /fields/{kind}/{name}.
//   - Segments at /segments: GET, POST, GET, PATCH {"name", "filter"} and
//     DELETE /segments/{id}; GET /segments/{id}/members (a page of the
//     records, as a ?where= list) and GET /segments/{id}/count {"count": n}.
//   - Reports of package crm/report: GET /reports/pipeline, /reports/forecast,
//     /reports/conversion, /reports/lead-conversion, /reports/churn,
//     /reports/revenue and /reports/operations (below).
//   - POST /import/{kind} and GET /export/{kind}, for contacts,
//     companies, deals, activities and purchases: files in and out through
//     package crmio (below).
//   - The request's workspace at /workspace: GET its settings (a
//     crm.WorkspaceInfo: name, lifecycle stages, default currency, time
//     zone, phone region), which every principal of the workspace may read,
//     and PATCH them with a merge patch (null clears a setting; id and
//     created_at cannot change), which needs the policy's update of the
//     "workspace" kind. Settings have no version, so no ETag.
//   - GET /search?q=&kinds=&limit=: the search box.
//   - GET /events: the change feed as server-sent events (below).
//   - GET /openapi.json: an OpenAPI 3.1 description, generated from the
//     same route table the handler serves (Routes). Its component schemas
//     are JSON Schemas reflected from the Go types' json tags (objects,
//     required properties, arrays, times as date-time strings, null where
//     a nil value writes null); a record in a request body has an input
//     schema ("ContactInput") that requires nothing, since the CRM fills
//     in and validates what a body leaves out. The tests check every
//     answer against its schema.
//
// # Reports
//
// A report's query parameters are the fields of report.Filter: pipeline
// (an ID), owner (repeated for several), from and to (a date, midnight in
// the report's time zone, or an RFC 3339 time), segment (an ID), where and
// where_object (an ad-hoc filter and the kind it selects), group (owner,
// stage, source, industry, region, product, week, month, quarter or
// custom.<field>, as the report allows), currency and tz (an IANA time
// zone; the workspace's by default); the forecast adds
// commit_probability, the conversion report stall_factor, lead and churn
// reports the lifecycle stages lead, opportunity, customer and churned.
// Invalid parameters are 400 naming each one. Reports run as the
// principal, so they cover the records it may read.
//
// ?format= picks the answer: json (the default; the report as its JSON
// form), csv (what the report's WriteCSV writes) or svg (its chart); without
// it the Accept header may ask for text/csv or image/svg+xml. Charts draw
// one currency: ?currency= when given, else the workspace's default if the
// report has amounts in it, else the report's first. The pipeline draws its
// stages, or with ?group= one stacked bar per group; the forecast one bar
// per owner; the conversion report the funnel of ?funnel= (a group's name;
// the first group by default); operations its activity volume. The
// lead-conversion, churn and revenue reports have no chart: svg is 406
// Not Acceptable, asked for by ?format= or by Accept alone.
//
// Records are the JSON form of the crm types (crm.Contact, crm.Deal, ...).
// A single record carries its version as an entity tag (ETag: "7"); send it
// back as If-Match: "7" on PATCH, DELETE and the deal and activity actions
// (activities are deleted at any version), and the write
// fails with 412 if the record moved on meanwhile (crm.IfVersion).
//
// # Import and export
//
// POST /import/{kind} streams its body, a CSV file with a header row
// (Content-Type text/csv) or JSON Lines (application/x-ndjson), into
// crmio.Import as the principal, batch by batch, and answers what it did
// (ImportResult: counts, and every rejected row with its line, column and
// reasons; a file with rejected rows is still 200). The query carries
// crmio.ImportOptions: upsert_by, overwrite, create_companies, dry_run,
// batch_size, currency, date_layout, decimal_comma, comma and tz (of times
// written without a zone); columns are mapped by their names. The body is
// not held by WithMaxBodyBytes but by WithMaxImportBytes (1 GiB by
// default, none if zero), and an import has no time bound: it ends with
// its body, or when the client goes away (the batches committed by then
// stay). Imports are not idempotent by key: retry with upsert_by.
//
// A client that sends Accept: text/event-stream gets the answer as
// server-sent events instead: a "progress" event after every committed
// batch (ImportProgress: the last line committed, the bytes and rows read
// and the counts so far), then one "result" event with the ImportResult,
// or one "error" event with a problem if the import stopped. The
// connection closes after such a stream.
//
// GET /export/{kind} streams crmio.Export as the principal, which needs
// the policy's export of the kind: ?format=csv (the default) or jsonl (or
// Accept: application/x-ndjson), ?where=, ?segment=, ?columns= (comma
// separated), ?sort=, ?desc=, ?deleted=. The status is sent with the first
// bytes; an export that fails later ends the connection without finishing
// the response, so a client never takes a truncated file for a whole one.
//
// # Errors
//
// Errors are RFC 9457 problem details (application/problem+json) with type,
// title, status and detail, and for invalid input an "errors" list of
// {"field", "reason"}, one per failing field:
//
//   - 400: malformed JSON, query parameters, cursors or filters (a filter's
//     syntax error carries its line, column and offset);
//   - 401: the Authenticator refused the request;
//   - 403: the policy refuses the action (crm.ErrForbidden);
//   - 404: no such record, or one the principal may not read (crm answers
//     not found for both), or a deleted one;
//   - 409: a value a unique index already holds (an email address, a
//     domain: crm.ErrDuplicate), with every failing field listed as for
//     422; a write that kept colliding with concurrent writers; an
//     Idempotency-Key still in flight;
//   - 412: If-Match names a version the record no longer has;
//   - 413: a body over the limit (WithMaxBodyBytes, 1 MiB by default; for
//     imports WithMaxImportBytes);
//   - 406: a chart of a report that has none;
//   - 415: a body that is not JSON (for imports, not CSV or JSON Lines);
//   - 422: the record is invalid (*crm.ValidationError), naming every field,
//     or a before-hook vetoed the write;
//   - 503: the request ran past its time bound (WithTimeout, 30s by default).
//
// # Idempotency
//
// POST requests that create (and the deal actions) honour an
// Idempotency-Key header: a repeated key from the same principal in the
// same workspace, on the same route, gets the first response again
// without running the request twice; the same key with a different body is
// refused (422). The keys are remembered in memory, per process, for a
// bounded number of requests and a bounded time (WithIdempotency): several
// instances behind a load balancer do not share them.
//
// # Events
//
// GET /events streams the workspace's change feed (crm.Workspace.Watch) as
// server-sent events, as the request's principal: events of records it may
// not read never arrive, and hidden fields are left out. Each event's id is
// its outbox sequence number, so a client that reconnects with
// Last-Event-ID (or ?since=) resumes after the last event it saw; without
// either it starts with the events committed after it connected. A comment
// line is sent as a heartbeat every 15 seconds (WithHeartbeat). The stream
// has no time bound and ends when the client goes away.
//
// # Imports
//
// This package imports the standard library and the project's crm,
// crm/filter, crm/report and crmio packages: no web framework, no router.
package crmhttp
