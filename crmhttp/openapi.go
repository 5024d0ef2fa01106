package crmhttp

import (
	"net/http"
	"strconv"
	"strings"
)

// openAPI answers with the API's OpenAPI 3.1 description.
func openAPI(c *call) error {
	c.w.Header().Set("Cache-Control", "no-cache")
	return c.writeJSON(http.StatusOK, OpenAPI(c.h.routes))
}

// OpenAPI returns the OpenAPI 3.1 document of routes (normally Routes()):
// its paths and operations, their parameters and statuses, and a schema
// per type name. Paths are relative to where the handler is mounted; the
// document's server is "." for the same reason.
func OpenAPI(routes []Route) map[string]any {
	paths := map[string]any{}
	used := map[string]bool{"Problem": true}
	for _, rt := range routes {
		item, _ := paths[rt.Pattern].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[rt.Pattern] = item
		}
		item[strings.ToLower(rt.Method)] = operation(rt)
		used[requestSchema(rt.Request)], used[rt.Response] = true, true
		if strings.HasSuffix(rt.Request, "Batch") {
			used[strings.TrimSuffix(rt.Request, "Batch")+"Input"] = true
		}
	}
	schemas := map[string]any{}
	for name := range used {
		if name != "" {
			schemas[name] = schemaOf(name)
		}
	}
	schemas["ImportProgress"] = schemaOf("ImportProgress")
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "crmkit",
			"version":     "0.1.0",
			"description": "Contacts, companies, deals, activities, pipelines, custom fields, segments and reports of one workspace, as the authenticated principal may see and change them.",
		},
		"servers":    []any{map[string]any{"url": "."}},
		"paths":      paths,
		"components": map[string]any{"schemas": schemas},
	}
}

// operation is the OpenAPI operation of one route.
func operation(rt Route) map[string]any {
	op := map[string]any{"operationId": operationID(rt), "summary": rt.Summary}
	var params []any
	for _, name := range wildcards(rt.Pattern) {
		params = append(params, map[string]any{"name": name, "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
	}
	for _, name := range rt.Query {
		p := queryParams[name]
		params = append(params, map[string]any{"name": name, "in": "query", "description": p.doc, "schema": p.schema})
	}
	if rt.IfMatch {
		params = append(params, header("If-Match", `The version the record must still have, as its ETag gives it ("7").`))
	}
	if rt.Idempotent {
		params = append(params, header("Idempotency-Key", "A key that makes a retry of the request return its first response."))
	}
	if rt.Response == "EventStream" {
		params = append(params, header("Last-Event-ID", "The id of the last event received: the stream resumes after it."))
	}
	if params != nil {
		op["parameters"] = params
	}
	if rt.Request != "" {
		ct := "application/json"
		if rt.Request == "MergePatch" {
			ct = "application/merge-patch+json"
		}
		content := map[string]any{ct: map[string]any{"schema": ref(requestSchema(rt.Request))}}
		if rt.Request == "ImportFile" {
			content = map[string]any{"text/csv": map[string]any{"schema": ref(rt.Request)},
				"application/x-ndjson": map[string]any{"schema": ref(rt.Request)}}
		}
		op["requestBody"] = map[string]any{"required": true, "content": content}
	}
	ok := map[string]any{"description": http.StatusText(rt.Status)}
	switch {
	case rt.Response == "ExportFile":
		ok["content"] = map[string]any{"text/csv": map[string]any{"schema": ref(rt.Response)},
			"application/x-ndjson": map[string]any{"schema": ref(rt.Response)}}
	case rt.Response == "EventStream":
		ok["content"] = map[string]any{"text/event-stream": map[string]any{"schema": ref(rt.Response)}}
	case rt.Response != "":
		content := map[string]any{"application/json": map[string]any{"schema": ref(rt.Response)}}
		for _, mt := range rt.media {
			content[mt] = map[string]any{"schema": map[string]any{"type": "string"}}
		}
		ok["content"] = content
	}
	responses := map[string]any{strconv.Itoa(rt.Status): ok}
	errs := rt.Errors
	if !rt.public {
		errs = append([]int{http.StatusUnauthorized}, errs...)
	}
	for _, s := range errs {
		responses[strconv.Itoa(s)] = map[string]any{"description": http.StatusText(s),
			"content": map[string]any{"application/problem+json": map[string]any{"schema": ref("Problem")}}}
	}
	op["responses"] = responses
	return op
}

// operationID names an operation by its method and path:
// "getContactsById", "postDealsByIdMove".
func operationID(rt Route) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(rt.Method))
	for seg := range strings.SplitSeq(strings.Trim(rt.Pattern, "/"), "/") {
		if strings.HasPrefix(seg, "{") {
			b.WriteString("By")
			seg = strings.Trim(seg, "{}.")
		}
		seg = strings.NewReplacer(".", "_", "-", "_").Replace(seg)
		for part := range strings.SplitSeq(seg, "_") {
			if part != "" {
				b.WriteString(strings.ToUpper(part[:1]) + part[1:])
			}
		}
	}
	return b.String()
}

// wildcards are the names of a pattern's wildcards, in order.
func wildcards(pattern string) []string {
	var names []string
	for seg := range strings.SplitSeq(pattern, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			names = append(names, strings.TrimSuffix(strings.Trim(seg, "{}"), "..."))
		}
	}
	return names
}

func header(name, doc string) map[string]any {
	return map[string]any{"name": name, "in": "header", "description": doc, "schema": map[string]any{"type": "string"}}
}

func ref(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }

type param struct {
	doc    string
	schema map[string]any
}

var queryParams = map[string]param{
	"limit":   {"The most items to answer with.", map[string]any{"type": "integer", "minimum": 1, "maximum": 1000}},
	"after":   {"The next cursor of the previous page.", map[string]any{"type": "string"}},
	"sort":    {"The order: created (the default), updated, name, or amount for deals.", map[string]any{"type": "string", "enum": []string{"created", "updated", "name", "amount"}}},
	"desc":    {"Reverse the order.", map[string]any{"type": "boolean"}},
	"deleted": {"List soft-deleted records instead of live ones.", map[string]any{"type": "boolean"}},
	"where":   {`A filter in crmkit's filter language: lifecycle = "customer" AND tags CONTAINS "vip".`, map[string]any{"type": "string"}},
	"q":       {"The words searched for.", map[string]any{"type": "string"}},
	"kinds":   {"The kinds searched, comma-separated: contact, company, deal (all by default).", map[string]any{"type": "string"}},
	"since":   {"The event id to resume after (as Last-Event-ID).", map[string]any{"type": "integer", "minimum": 0}},

	"pipeline":           {"Only the deals of this pipeline, by ID.", map[string]any{"type": "string"}},
	"owner":              {"Only the records of this owner; repeat for several.", map[string]any{"type": "array", "items": map[string]any{"type": "string"}}},
	"from":               {"The start of the report's period, included: a date (in the report's time zone) or an RFC 3339 time.", map[string]any{"type": "string"}},
	"to":                 {"The end of the report's period, excluded: a date (in the report's time zone) or an RFC 3339 time.", map[string]any{"type": "string"}},
	"segment":            {"Only the members of this segment, by ID.", map[string]any{"type": "string"}},
	"where_object":       {"The kind where selects: contact, company or deal.", map[string]any{"type": "string", "enum": []string{"contact", "company", "deal"}}},
	"group":              {"What the rows are grouped by: owner, stage, source, industry, region, product, week, month, quarter or custom.<field>.", map[string]any{"type": "string"}},
	"currency":           {"Only amounts in this ISO 4217 currency; also the currency a chart draws.", map[string]any{"type": "string"}},
	"tz":                 {"The IANA time zone periods are cut in (the workspace's by default).", map[string]any{"type": "string"}},
	"format":             {"The answer's format: for a report json (the default), csv or svg (a chart); for an export csv (the default) or jsonl. The Accept header may ask instead.", map[string]any{"type": "string", "enum": []string{"json", "csv", "svg", "jsonl"}}},
	"upsert_by":          {"The field that finds a row's existing record, which the row then updates: email, domain, name, external_id.<system> or id.", map[string]any{"type": "string"}},
	"overwrite":          {"Updates replace every mapped value: empty cells clear fields.", map[string]any{"type": "boolean"}},
	"create_companies":   {"Create the companies rows name that do not exist.", map[string]any{"type": "boolean"}},
	"dry_run":            {"Read, convert and check every row, writing nothing.", map[string]any{"type": "boolean"}},
	"batch_size":         {"Rows committed together (1000 by default).", map[string]any{"type": "integer", "minimum": 1, "maximum": 10000}},
	"date_layout":        {"The layout of dates written with slashes, in Go's time format (02/01/2006, day first, by default).", map[string]any{"type": "string"}},
	"decimal_comma":      {"Numbers and amounts are written with a decimal comma.", map[string]any{"type": "boolean"}},
	"comma":              {"The CSV field separator, one ASCII character (a comma by default).", map[string]any{"type": "string", "minLength": 1, "maxLength": 1}},
	"columns":            {"The columns to export, comma-separated, in order (all by default).", map[string]any{"type": "string"}},
	"commit_probability": {"The lowest stage probability (percent) whose deals count as commit (70 by default).", map[string]any{"type": "integer", "minimum": 1, "maximum": 100}},
	"stall_factor":       {"A deal stalls past this many times its stage's median stay (2 by default).", map[string]any{"type": "number", "exclusiveMinimum": 0}},
	"stalled_limit":      {"How many stalled deals to list, those stalled longest first (100 by default); all are counted.", map[string]any{"type": "integer", "minimum": 1, "maximum": maxStalledLimit}},
	"funnel":             {"The group whose funnel the SVG chart draws (the first group by default).", map[string]any{"type": "string"}},
	"lead":               {"The lifecycle stage of leads (lead by default).", map[string]any{"type": "string"}},
	"opportunity":        {"The lifecycle stage of opportunities (opportunity by default).", map[string]any{"type": "string"}},
	"customer":           {"The lifecycle stage of customers (customer by default).", map[string]any{"type": "string"}},
	"churned":            {"The lifecycle stage of churned customers (churned by default).", map[string]any{"type": "string"}},
}

// requestSchema is the schema of a request body of type name: a record's
// input schema (see inputSchemas), else the type's own.
func requestSchema(name string) string {
	if inputSchemas[name] {
		return name + "Input"
	}
	return name
}

// schemaOf is the schema of a type name of the route table: reflected
// from its Go type (schemaTypes), or described here for the bodies that
// are not JSON values of one Go type.
func schemaOf(name string) map[string]any {
	if base, ok := strings.CutSuffix(name, "Input"); ok && inputSchemas[base] {
		s := jsonSchema(schemaTypes[base], true)
		s["description"] = "The fields of " + article(base) + " " + base + " a request gives; the CRM sets the others."
		return s
	}
	if t, ok := schemaTypes[name]; ok {
		s := jsonSchema(t, false)
		switch {
		case strings.HasSuffix(name, "Page"):
			s["description"] = "A page of items and the cursor to the next (absent at the end)."
		default:
			s["description"] = "The JSON form of " + t.String() + "."
		}
		return s
	}
	switch name {
	case "ContactBatch", "CompanyBatch", "DealBatch":
		return map[string]any{"type": "array", "items": ref(strings.TrimSuffix(name, "Batch") + "Input"), "maxItems": maxBatch,
			"description": "The records to create, at most " + strconv.Itoa(maxBatch) + "."}
	case "MergePatch":
		return map[string]any{"type": "object", "description": "The fields to change (RFC 7396): null clears a field, objects merge."}
	case "ImportFile":
		return map[string]any{"type": "string", "description": "A CSV file with a header row (text/csv) or JSON Lines (application/x-ndjson), one record per row."}
	case "ExportFile":
		return map[string]any{"type": "string", "description": "A CSV file with a header row, or JSON Lines with the same keys."}
	case "EventStream":
		return map[string]any{"type": "string", "description": "Server-sent events: id is the event's sequence number, event its type, data a crm.Event with the record."}
	case "OpenAPI":
		return map[string]any{"type": "object", "description": "An OpenAPI 3.1 document."}
	}
	return map[string]any{"type": "object", "description": name + "."}
}
