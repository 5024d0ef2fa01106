package crmio

import (
	"errors"
	"fmt"
	"strings"

	"github.com/crmkit/crmkit/crm"
)

// missingCompany is a reference to a company that does not exist, met in
// column col.
type missingCompany struct{ col, ref string }

// newCompany is the company a reference to nothing creates: a domain
// gives a company with that domain and the domain as its name, anything
// else a company of that name.
func newCompany(ref string) crm.Company {
	if isDomain(ref) {
		d := normDomain(ref)
		return crm.Company{Name: d, Domain: d}
	}
	return crm.Company{Name: strings.Join(strings.Fields(ref), " ")}
}

// createCompanies creates the companies the row names that do not exist
// (ImportOptions.CreateCompanies), once each; the row is then built
// again. A company the CRM refuses becomes a problem of the row's
// column; a dry run counts the companies it would create and resolves
// later references to them as the import would.
func (im *importer[T]) createCompanies(rc *rowCtx) error {
	for _, m := range rc.missing {
		c := newCompany(m.ref)
		keys := []string{"name:" + foldName(c.Name)}
		if c.Domain != "" {
			keys = append(keys, "domain:"+normDomain(c.Domain))
		}
		if _, ok := im.rv.peekCompany(m.ref); ok || im.rv.pending[keys[0]] {
			continue // created for an earlier reference of the row
		}
		if im.o.DryRun {
			for _, k := range keys {
				im.rv.pending[k] = true
			}
			im.res.CompaniesCreated++
			continue
		}
		out, err := im.ws.Companies().Create(im.ctx, c)
		if err != nil {
			if im.ctx.Err() != nil || !rowError(err) {
				return fmt.Errorf("crmio: creating company %q: %w", c.Name, err)
			}
			rc.problems = append(rc.problems, Problem{Column: m.col, Reason: fmt.Sprintf("cannot create company %q: %s", c.Name, crmReason(err))})
			continue
		}
		im.rv.addCompany(out.ID, out.Name, out.Domain)
		im.res.CompaniesCreated++
	}
	return nil
}

// crmReason is the text of a CRM error without its prefix: the failing
// fields of a *crm.ValidationError, or the error's message.
func crmReason(err error) string {
	var ve *crm.ValidationError
	if errors.As(err, &ve) && len(ve.Fields) > 0 {
		parts := make([]string, len(ve.Fields))
		for i, f := range ve.Fields {
			parts[i] = f.String()
		}
		return strings.Join(parts, "; ")
	}
	return strings.TrimPrefix(err.Error(), "crm: ")
}
