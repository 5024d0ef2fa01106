package crmio

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/crmkit/crmkit/crm"
)

// resolver turns the natural keys of a file into record IDs: companies by
// name or domain, contacts by email, pipelines by name and stages by name
// within their pipeline.
//
// Company names are not indexed by the CRM, so the first reference to a
// company by name loads the names and domains of all the workspace's
// companies into memory (a few dozen bytes per company: the size of the
// workspace, not of the file). Contacts are looked up by email one by
// one, with a bounded cache.
type resolver struct {
	ctx    context.Context
	ws     *crm.Workspace
	dryRun bool
	// createMissing defers a reference to a company that does not exist
	// to the importer, which creates it (ImportOptions.CreateCompanies).
	createMissing bool

	loaded   bool
	byName   map[string][]string // folded name -> company IDs
	byDomain map[string]string
	// pending holds the "name:" and "domain:" keys of companies created
	// by rows of the batch not yet committed.
	pending map[string]bool

	contacts map[string]string // lower-case email -> contact ID

	plLoaded  bool
	pipelines []crm.Pipeline

	// err is a failure of the store met while resolving; it stops the
	// import.
	err error
}

// contactCacheSize bounds the email cache.
const contactCacheSize = 100_000

func newResolver(ctx context.Context, ws *crm.Workspace, dryRun bool) *resolver {
	return &resolver{ctx: ctx, ws: ws, dryRun: dryRun, pending: map[string]bool{}, contacts: map[string]string{}}
}

// looksLikeID reports whether s has the form of a CRM ID with prefix.
func looksLikeID(s, prefix string) bool {
	if !strings.HasPrefix(s, prefix) || len(s) != len(prefix)+16 {
		return false
	}
	for _, c := range s[len(prefix):] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

// isDomain reports whether a reference looks like a web domain rather
// than a name.
func isDomain(s string) bool {
	return strings.Contains(s, ".") && !strings.ContainsAny(s, " \t,;|")
}

func (rv *resolver) fatal(err error) {
	if rv.err == nil {
		rv.err = err
	}
}

func (rv *resolver) loadCompanies() bool {
	if rv.loaded {
		return rv.err == nil
	}
	rv.loaded = true
	rv.byName, rv.byDomain = map[string][]string{}, map[string]string{}
	for c, err := range rv.ws.Companies().List(rv.ctx, crm.ListOptions{}) {
		if err != nil {
			rv.fatal(fmt.Errorf("crmio: loading companies: %w", err))
			return false
		}
		rv.addCompany(c.ID, c.Name, c.Domain)
	}
	return true
}

func (rv *resolver) addCompany(id, name, domain string) {
	if !rv.loaded {
		return
	}
	n := foldName(name)
	for _, have := range rv.byName[n] {
		if have == id {
			n = ""
		}
	}
	if n != "" {
		rv.byName[n] = append(rv.byName[n], id)
	}
	if domain != "" {
		rv.byDomain[normDomain(domain)] = id
	}
}

// peekCompany resolves a company reference without reporting anything.
func (rv *resolver) peekCompany(ref string) (string, bool) {
	if ref == "" || !rv.loadCompanies() {
		return "", false
	}
	if isDomain(ref) {
		if id, ok := rv.byDomain[normDomain(ref)]; ok {
			return id, true
		}
	}
	if ids := rv.byName[foldName(ref)]; len(ids) == 1 {
		return ids[0], true
	}
	return "", false
}

// company resolves a company reference: an ID, a domain or a name.
func (rv *resolver) company(rc *rowCtx, ref string) (string, bool) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return "", false
	}
	if looksLikeID(ref, "com_") {
		c, err := rv.ws.Companies().Get(rv.ctx, ref)
		switch {
		case err == nil && !c.Deleted():
			return c.ID, true
		case err == nil || errors.Is(err, crm.ErrNotFound):
			rc.fail("no company %s in this workspace", ref)
		default:
			rv.fatal(err)
		}
		return "", false
	}
	if rv.pending["domain:"+normDomain(ref)] || rv.pending["name:"+foldName(ref)] {
		if rv.dryRun {
			return "(new)", true
		}
		rc.pending = true
		return "", false
	}
	if !rv.loadCompanies() {
		return "", false
	}
	if isDomain(ref) {
		if id, ok := rv.byDomain[normDomain(ref)]; ok {
			return id, true
		}
	}
	switch ids := rv.byName[foldName(ref)]; len(ids) {
	case 1:
		return ids[0], true
	case 0:
		if rv.createMissing {
			rc.missing = append(rc.missing, missingCompany{col: rc.col, ref: ref})
			rc.unsure()
			return "", false
		}
		rc.fail("no company named %q or with that domain", ref)
	default:
		rc.fail("%d companies are named %q: name it by its domain or ID", len(ids), ref)
	}
	return "", false
}

// companyNamed finds the one company with a (folded) name, for upserts
// by name. Several companies with the name reject the row.
func (rv *resolver) companyNamed(rc *rowCtx, name string) (string, bool) {
	if !rv.loadCompanies() {
		return "", false
	}
	switch ids := rv.byName[name]; len(ids) {
	case 0:
		return "", false
	case 1:
		return ids[0], true
	default:
		rc.fail("%d companies are named %q: upsert them by domain or ID", len(ids), name)
		return "", false
	}
}

// contact resolves a contact reference: an email address or an ID.
func (rv *resolver) contact(rc *rowCtx, ref string) (string, bool) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return "", false
	}
	if looksLikeID(ref, "con_") {
		c, err := rv.ws.Contacts().Get(rv.ctx, ref)
		switch {
		case err == nil && !c.Deleted():
			return c.ID, true
		case err == nil || errors.Is(err, crm.ErrNotFound):
			rc.fail("no contact %s in this workspace", ref)
		default:
			rv.fatal(err)
		}
		return "", false
	}
	if !strings.Contains(ref, "@") {
		rc.fail("%q is neither an email address nor a contact ID", ref)
		return "", false
	}
	email := emailKey(ref)
	if id, ok := rv.contacts[email]; ok {
		return id, true
	}
	c, err := rv.ws.Contacts().GetByEmail(rv.ctx, ref)
	switch {
	case err == nil:
		if len(rv.contacts) >= contactCacheSize {
			clear(rv.contacts)
		}
		rv.contacts[email] = c.ID
		return c.ID, true
	case errors.Is(err, crm.ErrNotFound):
		rc.fail("no contact with email %s", ref)
	default:
		rv.fatal(err)
	}
	return "", false
}

func (rv *resolver) loadPipelines() bool {
	if rv.plLoaded {
		return rv.err == nil
	}
	rv.plLoaded = true
	for p, err := range rv.ws.Pipelines().List(rv.ctx) {
		if err != nil {
			rv.fatal(fmt.Errorf("crmio: loading pipelines: %w", err))
			return false
		}
		rv.pipelines = append(rv.pipelines, p)
	}
	return true
}

func (rv *resolver) pipelineByName(rc *rowCtx, name string) *crm.Pipeline {
	if !rv.loadPipelines() {
		return nil
	}
	names := make([]string, len(rv.pipelines))
	for i := range rv.pipelines {
		if foldName(rv.pipelines[i].Name) == foldName(name) || rv.pipelines[i].ID == name {
			return &rv.pipelines[i]
		}
		names[i] = rv.pipelines[i].Name
	}
	rc.fail("no pipeline %q (pipelines: %s)", name, strings.Join(names, ", "))
	return nil
}

func (rv *resolver) pipelineByID(rc *rowCtx, id string) *crm.Pipeline {
	if !rv.loadPipelines() {
		return nil
	}
	for i := range rv.pipelines {
		if rv.pipelines[i].ID == id {
			return &rv.pipelines[i]
		}
	}
	return nil
}

func (rv *resolver) defaultPipeline(rc *rowCtx) *crm.Pipeline {
	if !rv.loadPipelines() {
		return nil
	}
	if len(rv.pipelines) == 0 {
		rc.fail("the workspace has no pipeline")
		return nil
	}
	return &rv.pipelines[0]
}
