package main

import (
	"flag"
	"strings"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crmio"
)

func getCmd(fs *flag.FlagSet) func(*env, []string) error {
	wsID := fs.String("workspace", "", "workspace `ID` (required)")
	object := kindVar(fs, "object", "record `kind` for --id (default: from the ID's prefix)")
	id := fs.String("id", "", "the record's `ID`")
	email := fs.String("email", "", "the contact's `email`")
	domain := fs.String("domain", "", "the company's `domain`")
	return func(e *env, args []string) error {
		if err := noArgs(args); err != nil {
			return err
		}
		given := 0
		for _, s := range []string{*id, *email, *domain} {
			if s != "" {
				given++
			}
		}
		if given != 1 {
			return usagef("give exactly one of --id, --email, --domain")
		}
		ws, closeFn, err := e.workspace(*wsID)
		if err != nil {
			return err
		}
		defer closeFn()
		var r any
		switch {
		case *email != "":
			r, err = ws.Contacts().GetByEmail(e.ctx, *email)
		case *domain != "":
			r, err = ws.Companies().GetByDomain(e.ctx, *domain)
		default:
			r, err = getByID(e, ws, *object, *id)
		}
		if err != nil {
			return err
		}
		return writeJSON(e.stdout, r)
	}
}

// idPrefixes are the ID prefixes the CRM gives each kind.
var idPrefixes = map[string]crm.Kind{
	"con_": crmio.ObjectContact, "com_": crmio.ObjectCompany, "deal_": crmio.ObjectDeal,
	"act_": crmio.ObjectActivity, "pur_": crmio.ObjectPurchase,
}

// objectOf returns the record kind an ID's prefix names, or "".
func objectOf(id string) crm.Kind {
	for p, o := range idPrefixes {
		if strings.HasPrefix(id, p) {
			return o
		}
	}
	return crm.Kind{}
}

func getByID(e *env, ws *crm.Workspace, object crm.Kind, id string) (any, error) {
	if object.IsZero() {
		if object = objectOf(id); object.IsZero() {
			return nil, usagef("cannot tell the kind of %q from its prefix: give --object", id)
		}
	} else if err := checkObject(object); err != nil {
		return nil, err
	}
	switch object {
	case crmio.ObjectContact:
		return ws.Contacts().Get(e.ctx, id)
	case crmio.ObjectCompany:
		return ws.Companies().Get(e.ctx, id)
	case crmio.ObjectDeal:
		return ws.Deals().Get(e.ctx, id)
	case crmio.ObjectActivity:
		return ws.Activities().Get(e.ctx, id)
	default:
		return ws.Purchases().Get(e.ctx, id)
	}
}
