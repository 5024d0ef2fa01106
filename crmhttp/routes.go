package crmhttp

import (
	"net/http"
	"slices"

	"github.com/crmkit/crmkit/crm"
)

// Route is one operation of the API: what the handler's mux serves and
// what its OpenAPI description says, from one table (Routes).
type Route struct {
	// Method and Pattern are the net/http pattern ("GET", "/contacts/{id}").
	Method  string
	Pattern string
	// Summary says what the operation does, in a few words.
	Summary string
	// Query names the query parameters the operation reads.
	Query []string
	// Request names the type of the JSON body ("" for none), Response
	// the type of the success answer ("" for none); the names are those
	// of the OpenAPI document's schemas.
	Request, Response string
	// Status is the status of success.
	Status int
	// Errors are the statuses of the problems the operation may answer
	// with besides 401 and 500.
	Errors []int
	// Idempotent says an Idempotency-Key header makes a retry return the
	// first response.
	Idempotent bool
	// IfMatch says an If-Match header pins the record's version.
	IfMatch bool

	media  []string          // media types of the success answer besides JSON
	public bool              // served without authentication
	stream bool              // has no time bound
	upload bool              // streams its body, capped by WithMaxImportBytes
	handle func(*call) error // answers the request, or fails
}

// Statuses of the problems of each family of operations.
var (
	readErrs  = []int{http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound}
	writeErrs = []int{http.StatusBadRequest, http.StatusForbidden, http.StatusNotFound, http.StatusConflict,
		http.StatusPreconditionFailed, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType,
		http.StatusUnprocessableEntity}
)

// The resources of this slice of the API.
var (
	contacts  = resource[crm.Contact]{kind: crm.KindContact, path: "contacts", typeName: "Contact", of: contactsOf}
	companies = resource[crm.Company]{kind: crm.KindCompany, path: "companies", typeName: "Company", of: companiesOf}
	deals     = resource[crm.Deal]{kind: crm.KindDeal, path: "deals", typeName: "Deal", of: dealsOf}
	acts      = resource[crm.Activity]{kind: crm.KindActivity, path: "activities", typeName: "Activity", of: activitiesOf}
	pipelines = resource[crm.Pipeline]{kind: crm.KindPipeline, path: "pipelines", typeName: "Pipeline", of: pipelinesOf}
	purchases = resource[crm.Purchase]{kind: crm.KindPurchase, path: "purchases", typeName: "Purchase", of: purchasesOf}
)

// Routes returns the API's route table, in the order of its OpenAPI
// description. The handler serves exactly these routes.
func Routes() []Route {
	return slices.Concat(
		contacts.routes(),
		companies.routes(),
		deals.routes(),
		[]Route{
			{Method: "POST", Pattern: "/deals/{id}/move", Summary: "Move a deal to another stage of its pipeline",
				Request: "StageMove", Response: "Deal", Status: http.StatusOK, Errors: writeErrs,
				Idempotent: true, IfMatch: true, handle: moveDeal},
			{Method: "POST", Pattern: "/deals/{id}/win", Summary: "Win a deal",
				Response: "Deal", Status: http.StatusOK, Errors: writeErrs,
				Idempotent: true, IfMatch: true, handle: winDeal},
			{Method: "POST", Pattern: "/deals/{id}/lose", Summary: "Lose a deal, saying why",
				Request: "LossReason", Response: "Deal", Status: http.StatusOK, Errors: writeErrs,
				Idempotent: true, IfMatch: true, handle: loseDeal},
		},
		activityRoutes(),
		purchaseRoutes(),
		mergeRoutes(),
		transferRoutes(),
		pipelineRoutes(),
		fieldRoutes(),
		segmentRoutes(),
		reportRoutes(),
		workspaceRoutes(),
		[]Route{
			{Method: "GET", Pattern: "/search", Summary: "Find contacts, companies and deals as a search box does",
				Query: []string{"q", "kinds", "limit"}, Response: "SearchResults", Status: http.StatusOK,
				Errors: []int{http.StatusBadRequest, http.StatusForbidden}, handle: search},
			{Method: "GET", Pattern: "/events", Summary: "Stream the change feed as server-sent events",
				Query: []string{"since"}, Response: "EventStream", Status: http.StatusOK,
				Errors: []int{http.StatusBadRequest}, stream: true, handle: events},
			{Method: "GET", Pattern: "/openapi.json", Summary: "Describe this API in OpenAPI 3.1",
				Response: "OpenAPI", Status: http.StatusOK, public: true, handle: openAPI},
		},
	)
}

// activityRoutes are the operations of activities: those of a record
// without batch and timeline, listed in the order they were logged, and
// completing a task.
func activityRoutes() []Route {
	rs := acts
	return []Route{
		{Method: "GET", Pattern: "/activities", Summary: "List activities", Query: []string{"limit", "after"},
			Response: "ActivityPage", Status: http.StatusOK, Errors: readErrs, handle: rs.page},
		{Method: "POST", Pattern: "/activities", Summary: "Log an activity",
			Request: "Activity", Response: "Activity", Status: http.StatusCreated, Errors: writeErrs,
			Idempotent: true, handle: rs.create},
		{Method: "GET", Pattern: "/activities/{id}", Summary: "Get an activity",
			Response: "Activity", Status: http.StatusOK, Errors: readErrs, handle: rs.get},
		{Method: "PATCH", Pattern: "/activities/{id}", Summary: "Change fields of an activity",
			Request: "MergePatch", Response: "Activity", Status: http.StatusOK, Errors: writeErrs,
			IfMatch: true, handle: rs.patch},
		{Method: "DELETE", Pattern: "/activities/{id}", Summary: "Delete an activity",
			Status: http.StatusNoContent, Errors: writeErrs, handle: rs.delete},
		{Method: "POST", Pattern: "/activities/{id}/complete", Summary: "Mark a task done or not done",
			Request: "Completion", Response: "Activity", Status: http.StatusOK, Errors: writeErrs,
			IfMatch: true, handle: completeActivity},
	}
}

// pipelineRoutes are the operations of pipelines, listed whole.
func pipelineRoutes() []Route {
	rs := pipelines
	return []Route{
		{Method: "GET", Pattern: "/pipelines", Summary: "List pipelines",
			Response: "PipelinePage", Status: http.StatusOK, Errors: readErrs, handle: rs.listAll},
		{Method: "POST", Pattern: "/pipelines", Summary: "Create a pipeline",
			Request: "Pipeline", Response: "Pipeline", Status: http.StatusCreated, Errors: writeErrs,
			Idempotent: true, handle: rs.create},
		{Method: "GET", Pattern: "/pipelines/{id}", Summary: "Get a pipeline",
			Response: "Pipeline", Status: http.StatusOK, Errors: readErrs, handle: rs.get},
		{Method: "PATCH", Pattern: "/pipelines/{id}", Summary: "Change fields of a pipeline",
			Request: "MergePatch", Response: "Pipeline", Status: http.StatusOK, Errors: writeErrs,
			IfMatch: true, handle: rs.patch},
	}
}

// fieldRoutes are the operations of custom field definitions.
func fieldRoutes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/fields/{kind}", Summary: "List the custom fields of a kind of record",
			Response: "FieldDefs", Status: http.StatusOK, Errors: readErrs, handle: listFields},
		{Method: "PUT", Pattern: "/fields/{kind}/{name}", Summary: "Define or redefine a custom field",
			Request: "FieldDef", Response: "FieldDef", Status: http.StatusOK, Errors: writeErrs, handle: defineField},
		{Method: "DELETE", Pattern: "/fields/{kind}/{name}", Summary: "Remove a custom field",
			Status: http.StatusNoContent, Errors: writeErrs, handle: removeField},
	}
}

// segmentRoutes are the operations of segments and their members.
func segmentRoutes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/segments", Summary: "List segments",
			Response: "Segments", Status: http.StatusOK, Errors: readErrs, handle: listSegments},
		{Method: "POST", Pattern: "/segments", Summary: "Create a segment",
			Request: "Segment", Response: "Segment", Status: http.StatusCreated, Errors: writeErrs,
			Idempotent: true, handle: createSegment},
		{Method: "GET", Pattern: "/segments/{id}", Summary: "Get a segment",
			Response: "Segment", Status: http.StatusOK, Errors: readErrs, handle: getSegment},
		{Method: "PATCH", Pattern: "/segments/{id}", Summary: "Rename a segment or change its filter",
			Request: "SegmentPatch", Response: "Segment", Status: http.StatusOK, Errors: writeErrs, handle: patchSegment},
		{Method: "DELETE", Pattern: "/segments/{id}", Summary: "Delete a segment",
			Status: http.StatusNoContent, Errors: writeErrs, handle: deleteSegment},
		{Method: "GET", Pattern: "/segments/{id}/members", Summary: "Page through the records of a segment",
			Query: []string{"after", "limit"}, Response: "RecordPage", Status: http.StatusOK, Errors: readErrs,
			handle: segmentMembers},
		{Method: "GET", Pattern: "/segments/{id}/count", Summary: "Count the records of a segment",
			Response: "Count", Status: http.StatusOK, Errors: readErrs, handle: countSegment},
	}
}

// routes are the operations of one kind of record.
func (rs resource[T]) routes() []Route {
	p := "/" + rs.path
	return []Route{
		{Method: "GET", Pattern: p, Summary: "List " + rs.path,
			Query:    []string{"limit", "after", "sort", "desc", "deleted", "where"},
			Response: rs.typeName + "Page", Status: http.StatusOK, Errors: readErrs, handle: rs.list},
		{Method: "POST", Pattern: p, Summary: "Create " + article(rs.kind.String()) + " " + rs.kind.String(),
			Request: rs.typeName, Response: rs.typeName, Status: http.StatusCreated, Errors: writeErrs,
			Idempotent: true, handle: rs.create},
		{Method: "GET", Pattern: p + "/count", Summary: "Count the " + rs.path + " a filter selects, or all of them",
			Query: []string{"where"}, Response: "Count", Status: http.StatusOK, Errors: readErrs, handle: rs.count},
		{Method: "POST", Pattern: p + "/batch", Summary: "Create many " + rs.path, Request: rs.typeName + "Batch",
			Response: "BatchResults", Status: http.StatusOK, Errors: writeErrs, Idempotent: true, handle: rs.batch},
		{Method: "GET", Pattern: p + "/{id}", Summary: "Get " + article(rs.kind.String()) + " " + rs.kind.String(),
			Response: rs.typeName, Status: http.StatusOK, Errors: readErrs, handle: rs.get},
		{Method: "PATCH", Pattern: p + "/{id}", Summary: "Change fields of " + article(rs.kind.String()) + " " + rs.kind.String(),
			Request: "MergePatch", Response: rs.typeName, Status: http.StatusOK, Errors: writeErrs,
			IfMatch: true, handle: rs.patch},
		{Method: "DELETE", Pattern: p + "/{id}", Summary: "Delete " + article(rs.kind.String()) + " " + rs.kind.String(),
			Status: http.StatusNoContent, Errors: writeErrs, IfMatch: true, handle: rs.delete},
		{Method: "GET", Pattern: p + "/{id}/timeline", Summary: "Page through the timeline of " + article(rs.kind.String()) + " " + rs.kind.String(),
			Query: []string{"after", "limit"}, Response: "TimelinePage", Status: http.StatusOK,
			Errors: readErrs, handle: rs.timeline},
	}
}

func article(word string) string {
	if word != "" && slices.Contains([]byte("aeiou"), word[0]) {
		return "an"
	}
	return "a"
}
