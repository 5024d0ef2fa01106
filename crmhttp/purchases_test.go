package crmhttp_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func purchaseOf(contactID, companyID string, amount int64) map[string]any {
	return map[string]any{"contact_id": contactID, "company_id": companyID, "payment_method": "card",
		"items": []map[string]any{{"product": "Widget", "quantity": 2, "unit_price": map[string]any{"amount": amount, "currency": "EUR"}}}}
}

func TestPurchases(t *testing.T) {
	e := setup(t)
	c := e.admin(t)
	ada, err := e.WS.Contacts().Create(e.Ctx, crm.Contact{FirstName: "Ada"})
	require.NoError(t, err)
	acme, err := e.WS.Companies().Create(e.Ctx, crm.Company{Name: "Acme"})
	require.NoError(t, err)

	r := c.do("POST", "/purchases", purchaseOf(ada.ID, "", 150))
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	var p crm.Purchase
	r.decode(t, &p)
	assert.Equal(t, crm.Money{Amount: 300, Currency: "EUR"}, p.Total, "the CRM computes the total")
	assert.Equal(t, "purchases/"+p.ID, r.Header.Get("Location"))
	assert.Equal(t, `"`+"1"+`"`, r.Header.Get("ETag"))

	var ids []string
	ids = append(ids, p.ID)
	for i := range 3 {
		r := c.do("POST", "/purchases", purchaseOf("", acme.ID, int64(10+i)))
		require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
		var q crm.Purchase
		r.decode(t, &q)
		ids = append(ids, q.ID)
	}

	// Pages of all purchases, and of one buyer's, in the order recorded.
	pages := func(query string) []string {
		var got []string
		after := ""
		for n := 0; ; n++ {
			require.Less(t, n, 10)
			r := c.do("GET", "/purchases?limit=2&"+query+"after="+url.QueryEscape(after), nil)
			require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
			var pg crm.Page[crm.Purchase]
			r.decode(t, &pg)
			for _, p := range pg.Items {
				got = append(got, p.ID)
			}
			if pg.Next == "" {
				return got
			}
			after = pg.Next
		}
	}
	assert.Equal(t, ids, pages(""))
	assert.Equal(t, ids[1:], pages("company="+acme.ID+"&"))
	assert.Equal(t, ids[:1], pages("contact="+ada.ID+"&"))

	r = c.do("GET", "/purchases/"+p.ID, nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	r = c.do("PATCH", "/purchases/"+p.ID, `{"payment_method":"invoice"}`, "If-Match", r.Header.Get("ETag"))
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	r.decode(t, &p)
	assert.Equal(t, "invoice", p.PaymentMethod)
	assert.Equal(t, int64(300), p.Total.Amount)
	p412 := c.do("PATCH", "/purchases/"+p.ID, `{"payment_method":"cash"}`, "If-Match", `"1"`).problem(t)
	assert.Equal(t, http.StatusPreconditionFailed, p412.Status)

	t.Run("invalid", func(t *testing.T) {
		pr := c.do("POST", "/purchases", map[string]any{"items": []any{}}).problem(t)
		assert.Equal(t, http.StatusUnprocessableEntity, pr.Status)
		assert.ElementsMatch(t, []string{"contact_id", "items"}, fields(pr))
		pr = c.do("GET", "/purchases?contact="+ada.ID+"&company="+acme.ID, nil).problem(t)
		assert.Equal(t, []string{"company"}, fields(pr))
		pr = c.do("GET", "/purchases?after=%21%21", nil).problem(t)
		assert.Equal(t, []string{"after"}, fields(pr))
	})

	assert.Equal(t, http.StatusNoContent, c.do("DELETE", "/purchases/"+p.ID, nil).Status)
	assert.Equal(t, http.StatusNotFound, c.do("GET", "/purchases/"+p.ID, nil).problem(t).Status)
	assert.Equal(t, ids[1:], pages(""))
	assert.Equal(t, http.StatusNotFound, c.do("GET", "/purchases/pur_nope", nil).problem(t).Status)
}

func TestPurchasesAccess(t *testing.T) {
	e := setup(t)
	contacts, _ := withPolicy(t, e)
	bob := e.as(t, "bob", "rep")
	// A rep reads and records purchases, and changes or deletes none.
	r := bob.do("POST", "/purchases", purchaseOf(contacts["bob"], "", 5))
	require.Equal(t, http.StatusCreated, r.Status, "%s", r.Body)
	var p crm.Purchase
	r.decode(t, &p)
	assert.Equal(t, http.StatusOK, bob.do("GET", "/purchases", nil).Status)
	assert.Equal(t, http.StatusForbidden, bob.do("PATCH", "/purchases/"+p.ID, `{"payment_method":"x"}`).problem(t).Status)
	assert.Equal(t, http.StatusForbidden, bob.do("DELETE", "/purchases/"+p.ID, nil).problem(t).Status)

	rita := e.as(t, "rita", "read_only")
	assert.Equal(t, http.StatusOK, rita.do("GET", "/purchases/"+p.ID, nil).Status)
	assert.Equal(t, http.StatusForbidden, rita.do("POST", "/purchases", purchaseOf(contacts["ann"], "", 5)).problem(t).Status)
	eve := e.as(t, "eve", "nobody")
	assert.Equal(t, http.StatusForbidden, eve.do("GET", "/purchases", nil).problem(t).Status)
	assert.Equal(t, http.StatusForbidden, eve.do("GET", "/purchases/"+p.ID, nil).problem(t).Status, "no read of the kind at all")
}
