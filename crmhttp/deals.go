package crmhttp

import (
	"net/http"
	"slices"
	"strings"

	"github.com/crmkit/crmkit/crm"
)

// StageMove is the body of POST /deals/{id}/move.
type StageMove struct {
	// Stage is the stage's ID or name ("Proposal", any case).
	Stage string `json:"stage"`
}

// LossReason is the body of POST /deals/{id}/lose.
type LossReason struct {
	Reason string `json:"reason,omitempty"`
}

func moveDeal(c *call) error {
	var m StageMove
	if err := c.decodeBody(&m); err != nil {
		return err
	}
	if strings.TrimSpace(m.Stage) == "" {
		return &httpError{Problem{Type: typeValidation, Title: "Invalid deal", Status: http.StatusUnprocessableEntity,
			Detail: "stage: is required", Errors: []FieldProblem{{Field: "stage", Reason: "is required"}}}}
	}
	d, err := c.ws.Deals().Move(c.ctx, c.r.PathValue("id"), m.Stage, c.updateOpts()...)
	if err != nil {
		return err
	}
	return writeRecord(c, http.StatusOK, &d)
}

func winDeal(c *call) error {
	if c.r.ContentLength > 0 {
		var empty struct{}
		if err := c.decodeBody(&empty); err != nil {
			return err
		}
	}
	d, err := c.ws.Deals().Win(c.ctx, c.r.PathValue("id"), c.updateOpts()...)
	if err != nil {
		return err
	}
	return writeRecord(c, http.StatusOK, &d)
}

func loseDeal(c *call) error {
	var l LossReason
	if c.r.ContentLength != 0 {
		if err := c.decodeBody(&l); err != nil {
			return err
		}
	}
	d, err := c.ws.Deals().Lose(c.ctx, c.r.PathValue("id"), l.Reason, c.updateOpts()...)
	if err != nil {
		return err
	}
	return writeRecord(c, http.StatusOK, &d)
}

// SearchResults is the answer of GET /search: the hits, best first.
type SearchResults struct {
	Items []crm.SearchHit `json:"items"`
}

// searchKinds are the kinds a search may name: singular or plural,
// "contact" or "contacts".
var searchKinds = []crm.Kind{crm.KindContact, crm.KindCompany, crm.KindDeal}

func search(c *call) error {
	q := c.r.URL.Query()
	text := strings.TrimSpace(q.Get("q"))
	if text == "" {
		return badParam("q", "is required")
	}
	limit, err := intParam(q, "limit", 20, 1, 100)
	if err != nil {
		return err
	}
	var kinds []crm.Kind
	for _, v := range q["kinds"] {
		for k := range strings.SplitSeq(v, ",") {
			if k = strings.TrimSpace(k); k == "" {
				continue
			}
			kind, err := crm.ParseKind(k)
			if err != nil || !slices.Contains(searchKinds, kind) {
				return badParam("kinds", "names "+k+", not contact, company or deal")
			}
			kinds = append(kinds, kind)
		}
	}
	hits, err := c.ws.Search(c.ctx, text, crm.SearchOptions{Kinds: kinds, Limit: limit})
	if err != nil {
		return &paramError{err}
	}
	if hits == nil {
		hits = []crm.SearchHit{}
	}
	return c.writeJSON(http.StatusOK, SearchResults{Items: hits})
}
