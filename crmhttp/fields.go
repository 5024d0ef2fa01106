package crmhttp

import (
	"net/http"
	"slices"

	"github.com/crmkit/crmkit/crm"
)

// fieldKinds are the kinds of record that have custom fields.
var fieldKinds = []crm.Kind{crm.KindContact, crm.KindCompany, crm.KindDeal, crm.KindActivity, crm.KindPurchase}

// FieldDefs is the answer of GET /fields/{kind}: the kind's custom fields,
// in definition order.
type FieldDefs struct {
	Items []crm.FieldDef `json:"items"`
}

// fieldKind is the {kind} of a fields path ("contact", or as crm.ParseKind
// also reads it "contacts"), or the 404 of a kind without custom fields.
func fieldKind(c *call) (crm.Kind, error) {
	name := c.r.PathValue("kind")
	kind, err := crm.ParseKind(name)
	if err != nil || !slices.Contains(fieldKinds, kind) {
		return crm.Kind{}, &httpError{Problem{Type: typeNotFound, Title: "Not found", Status: http.StatusNotFound,
			Detail: "the kind " + name + " has no custom fields (contact, company, deal, activity and purchase have)"}}
	}
	return kind, nil
}

func listFields(c *call) error {
	kind, err := fieldKind(c)
	if err != nil {
		return err
	}
	out := FieldDefs{Items: []crm.FieldDef{}}
	for d, err := range c.ws.Fields().List(c.ctx, kind) {
		if err != nil {
			return err
		}
		out.Items = append(out.Items, d)
	}
	return c.writeJSON(http.StatusOK, out)
}

// defineField defines the field the path names, or redefines it: the
// body is a FieldDef whose object and name, if given, are the path's.
func defineField(c *call) error {
	kind, err := fieldKind(c)
	if err != nil {
		return err
	}
	name := c.r.PathValue("name")
	var d crm.FieldDef
	if err := c.decodeBody(&d); err != nil {
		return err
	}
	ve := &crm.ValidationError{Kind: "field", ID: kind.String() + "." + name}
	if !d.Object.IsZero() && d.Object != kind {
		ve.Add("object", "is %q, but the path names %q", d.Object, kind)
	}
	if d.Name != "" && d.Name != name {
		ve.Add("name", "is %q, but the path names %q", d.Name, name)
	}
	if err := ve.Err(); err != nil {
		return err
	}
	d.Object, d.Name = kind, name
	d, err = c.ws.Fields().Define(c.ctx, d)
	if err != nil {
		return err
	}
	return c.writeJSON(http.StatusOK, d)
}

func removeField(c *call) error {
	kind, err := fieldKind(c)
	if err != nil {
		return err
	}
	if err := c.ws.Fields().Remove(c.ctx, kind, c.r.PathValue("name")); err != nil {
		return err
	}
	c.w.WriteHeader(http.StatusNoContent)
	return nil
}
