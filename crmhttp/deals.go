package crmhttp

import (
	"net/http"
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
	var kinds []string
	for _, v := range q["kinds"] {
		for k := range strings.SplitSeq(v, ",") {
			switch k = strings.TrimSpace(k); k {
			case "":
			case "contact", "contacts":
				kinds = append(kinds, "contact")
			case "company", "companies":
				kinds = append(kinds, "company")
			case "deal", "deals":
				kinds = append(kinds, "deal")
			default:
				return badParam("kinds", "names "+k+", not contact, company or deal")
			}
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
