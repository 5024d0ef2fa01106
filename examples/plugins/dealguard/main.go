// Command dealguard is an example crmkit plugin running before deal
// writes: it refuses deals above a limit (DEALGUARD_LIMIT, in minor units;
// default 10,000.00) that have no company, and normalises deal names
// (spaces collapsed, first letter upper case).
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/plugins/sdk"
)

type guard struct{ limit int64 }

func (guard) Manifest() sdk.Manifest {
	return sdk.Manifest{Name: "dealguard", Version: "1.0.0", Before: []string{"deal.created", "deal.updated"}}
}

func (g guard) Before(ctx context.Context, w *sdk.Write) error {
	var d crm.Deal
	if err := w.Decode(&d); err != nil {
		return err
	}
	if d.Amount.Amount > g.limit && d.CompanyID == "" {
		return sdk.Veto(fmt.Sprintf("deals over %d.%02d need a company", g.limit/100, g.limit%100))
	}
	if name := normalise(d.Name); name != d.Name {
		return w.Set("name", name)
	}
	return nil
}

// normalise collapses runs of spaces and upper-cases the first letter.
func normalise(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToUpper(r)) + s[n:]
}

func main() {
	limit := int64(10_000_00)
	if v, err := strconv.ParseInt(os.Getenv("DEALGUARD_LIMIT"), 10, 64); err == nil {
		limit = v
	}
	sdk.Serve(guard{limit: limit})
}
