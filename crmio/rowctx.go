package crmio

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/crmkit/crmkit/crm"
)

// rowCtx is the state of parsing one row.
type rowCtx struct {
	o   *ImportOptions
	rv  *resolver
	col string
	// paths are the crm field paths the cell being parsed feeds.
	paths    []string
	problems []Problem
	// failed holds the crm field paths whose cell did not convert or
	// resolve, so that the CRM's complaints about them (an empty required
	// field, say) are not reported on top of crmio's.
	failed map[string]bool
	// missing lists the company references that name no company, when
	// ImportOptions.CreateCompanies makes them create one.
	missing []missingCompany
	// pending is set when a reference names a record that an earlier row
	// of the current batch creates: the batch must be committed first.
	pending bool
	// id is the row's "id" column, the upsert key for UpsertBy "id".
	id string
	// Deals: the stage named by the row, resolved once the pipeline is
	// known.
	stage, stageCol string
	pipeline        *crm.Pipeline
}

func (rc *rowCtx) fail(format string, args ...any) {
	rc.problems = append(rc.problems, Problem{Column: rc.col, Reason: fmt.Sprintf(format, args...)})
	rc.unsure()
}

// unsure marks the paths of the cell being parsed as not holding the
// row's value (it failed, or waits for a company to be created).
func (rc *rowCtx) unsure() {
	if rc.failed == nil {
		rc.failed = map[string]bool{}
	}
	for _, p := range rc.paths {
		rc.failed[p] = true
	}
}

// text returns a cell that must be a single value.
func (rc *rowCtx) text(c cell) (string, bool) {
	switch c.kind {
	case cNull:
		return "", true
	case cList:
		if len(c.list) == 1 {
			return strings.TrimSpace(c.list[0]), true
		}
		rc.fail("want one value, got a list of %d", len(c.list))
		return "", false
	case cObject:
		rc.fail("want one value, got an object")
		return "", false
	}
	return strings.TrimSpace(c.s), true
}

// list returns a list cell: a JSON array, or text split on ';' and '|'.
func (rc *rowCtx) list(c cell) []string {
	switch c.kind {
	case cList:
		out := make([]string, 0, len(c.list))
		for _, s := range c.list {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		return out
	case cNull:
		return nil
	case cObject:
		rc.fail("want a list, got an object")
		return nil
	}
	return splitList(c.s)
}

func (rc *rowCtx) money(c cell) (crm.Money, bool) {
	if c.kind == cObject {
		a, okA := c.obj["amount"].(json.Number)
		cur, okC := c.obj["currency"].(string)
		n, err := strconv.ParseInt(string(a), 10, 64)
		if !okA || !okC || err != nil {
			rc.fail("want {\"amount\": minor units, \"currency\": code} or text such as \"12.50 EUR\"")
			return crm.Money{}, false
		}
		return crm.Money{Amount: n, Currency: strings.ToUpper(strings.TrimSpace(cur))}, true
	}
	s, ok := rc.text(c)
	if !ok {
		return crm.Money{}, false
	}
	m, err := parseMoney(s, rc.o.Currency, rc.o.DecimalComma)
	if err != nil {
		rc.fail("%v", err)
		return crm.Money{}, false
	}
	return m, true
}

func (rc *rowCtx) date(c cell) (crm.Date, bool) {
	s, ok := rc.text(c)
	if !ok {
		return crm.Date{}, false
	}
	d, err := ParseDate(s, rc.o.DateLayout)
	if err != nil {
		rc.fail("%v", err)
		return crm.Date{}, false
	}
	return d, true
}

func (rc *rowCtx) time(c cell) (time.Time, bool) {
	s, ok := rc.text(c)
	if !ok {
		return time.Time{}, false
	}
	t, err := parseTime(s, rc.o.DateLayout, rc.o.Location)
	if err != nil {
		rc.fail("%v", err)
		return time.Time{}, false
	}
	return t, true
}

func (rc *rowCtx) int(c cell) (int64, bool) {
	s, ok := rc.text(c)
	if !ok {
		return 0, false
	}
	n, err := parseInt(s, rc.o.DecimalComma)
	if err != nil {
		rc.fail("%v", err)
		return 0, false
	}
	return n, true
}

func (rc *rowCtx) bool(c cell) (bool, bool) {
	s, ok := rc.text(c)
	if !ok {
		return false, false
	}
	b, err := ParseBool(s)
	if err != nil {
		rc.fail("%v", err)
		return false, false
	}
	return b, true
}
