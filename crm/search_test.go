package crm_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func hitNames(t *testing.T, hits []crm.SearchHit) []string {
	t.Helper()
	var out []string
	for _, h := range hits {
		switch r := h.Record.(type) {
		case crm.Contact:
			out = append(out, r.FirstName+" "+r.LastName)
		case crm.Company:
			out = append(out, r.Name)
		case crm.Deal:
			out = append(out, r.Name)
		}
	}
	return out
}

func TestSearchFindsWhatPeopleType(t *testing.T) {
	e := setup(t)
	cs := e.ws.Contacts()
	for _, c := range []crm.Contact{
		{FirstName: "Ada", LastName: "Lovelace", Emails: []string{"ada@analytical.example"}, Phones: []crm.Phone{{Number: "+49 30 12345678"}}},
		{FirstName: "Adam", LastName: "Smith", Emails: []string{"adam.smith@wealth.example"}},
		{FirstName: "Zoë", LastName: "Ångström", Emails: []string{"zoe@physics.example"}},
		{FirstName: "Grace", LastName: "Hopper", Phones: []crm.Phone{{Number: "030 98765432", Region: "DE"}}},
	} {
		_, err := cs.Create(e.ctx, c)
		require.NoError(t, err)
	}
	_, err := e.ws.Companies().Create(e.ctx, crm.Company{Name: "Analytical Engines Ltd", Domain: "analytical.example"})
	require.NoError(t, err)
	_, err = e.ws.Deals().Create(e.ctx, crm.Deal{Name: "Analytical engine pilot"})
	require.NoError(t, err)

	search := func(q string, opts crm.SearchOptions) []string {
		hits, err := e.ws.Search(e.ctx, q, opts)
		require.NoError(t, err, q)
		return hitNames(t, hits)
	}
	assert.Equal(t, []string{"Ada Lovelace", "Adam Smith"}, search("ada", crm.SearchOptions{}), "the whole word first, then the prefix")
	assert.Equal(t, []string{"Ada Lovelace"}, search("ada lov", crm.SearchOptions{}))
	assert.Equal(t, []string{"Ada Lovelace"}, search("LOVELACE ada", crm.SearchOptions{}))
	assert.Equal(t, []string{"Zoë Ångström"}, search("zoe angst", crm.SearchOptions{}), "folded")
	assert.Equal(t, []string{"Zoë Ångström"}, search("Ångström", crm.SearchOptions{}))
	assert.Equal(t, []string{"Adam Smith"}, search("adam.smith@wealth.example", crm.SearchOptions{}))
	assert.Equal(t, []string{"Adam Smith"}, search("wealth", crm.SearchOptions{}), "an address's domain")
	assert.Equal(t, []string{"Adam Smith"}, search("@wealth.example", crm.SearchOptions{}))
	assert.Equal(t, []string{"Ada Lovelace"}, search("+49 30 1234", crm.SearchOptions{}), "a phone by its start")
	assert.Equal(t, []string{"Grace Hopper"}, search("030 987", crm.SearchOptions{}), "as written")
	assert.Equal(t, []string{"Grace Hopper"}, search("+49 30 98765432", crm.SearchOptions{}), "and in E.164")
	got := search("analytical", crm.SearchOptions{})
	assert.ElementsMatch(t, []string{"Analytical Engines Ltd", "Analytical engine pilot", "Ada Lovelace"}, got, "companies, deals, and a contact by domain")
	assert.Equal(t, []string{"Analytical engine pilot"}, search("analytical", crm.SearchOptions{Kinds: []crm.Kind{crm.KindDeal}}))
	_, err = e.ws.Companies().Create(e.ctx, crm.Company{Name: "Buchhandlung", Domain: "bücher.example"})
	require.NoError(t, err)
	assert.Equal(t, []string{"Buchhandlung"}, search("bücher", crm.SearchOptions{}), "an IDN domain, folded as typed")
	assert.Equal(t, []string{"Buchhandlung"}, search("bucher", crm.SearchOptions{}))
	// One typo in a word of four letters or more, when nothing else
	// matches: swapped, missing, extra, wrong letters, also in a prefix.
	for q, want := range map[string]string{
		"lovleace": "Ada Lovelace", "hoper": "Grace Hopper", "gracce": "Grace Hopper",
		"smuth": "Adam Smith", "ada lovwl": "Ada Lovelace", "angstorm": "Zoë Ångström",
	} {
		hits, err := e.ws.Search(e.ctx, q, crm.SearchOptions{Kinds: []crm.Kind{crm.KindContact}})
		require.NoError(t, err, q)
		require.Equal(t, []string{want}, hitNames(t, hits), q)
		assert.False(t, hits[0].Exact, q)
	}
	assert.Empty(t, search("hpoe", crm.SearchOptions{}), "two typos")
	assert.Empty(t, search("xrace", crm.SearchOptions{}), "the first letters are taken as typed")
	assert.Empty(t, search("nobody", crm.SearchOptions{}))
	assert.Empty(t, search("   ", crm.SearchOptions{}))
	_, err = e.ws.Search(e.ctx, "ada", crm.SearchOptions{Kinds: []crm.Kind{crm.KindActivity}})
	require.ErrorIs(t, err, crm.ErrInvalid)

	// Changes and deletions are searched as they are now.
	ada := search("lovelace", crm.SearchOptions{})
	require.Len(t, ada, 1)
	hits, err := e.ws.Search(e.ctx, "lovelace", crm.SearchOptions{})
	require.NoError(t, err)
	_, err = cs.Update(e.ctx, hits[0].ID, func(c *crm.Contact) error { c.LastName = "Byron"; return nil })
	require.NoError(t, err)
	assert.Empty(t, search("lovelace", crm.SearchOptions{}))
	assert.Equal(t, []string{"Ada Byron"}, search("byron", crm.SearchOptions{}))
	require.NoError(t, cs.Delete(e.ctx, hits[0].ID))
	assert.Empty(t, search("byron", crm.SearchOptions{}))
}

func TestSearchUnderPolicy(t *testing.T) {
	a := setupAccess(t)
	sys := crm.As(a.ctx, crm.System())
	_, err := a.ws.SetPolicy(sys, crm.Policy{
		Roles: []crm.Role{{Name: "support",
			Grants: []crm.Grant{{Kind: crm.AnyKind, Actions: []crm.Action{crm.ActionRead}, Scope: crm.ScopeAll}},
			Fields: []crm.FieldRule{{Field: "contact.emails", Access: crm.FieldHidden}}}},
		Teams: testPolicy.Teams,
	})
	require.NoError(t, err)
	names := func(p crm.Principal, q string) []string {
		hits, err := a.ws.Search(crm.As(a.ctx, p), q, crm.SearchOptions{})
		require.NoError(t, err)
		n := hitNames(t, hits)
		slices.Sort(n)
		return n
	}
	assert.Equal(t, []string{"bob's deal", "bob's lead "}, names(bob, "bob"), "a rep finds its own records only")
	assert.Empty(t, names(bob, "carl"))
	assert.Len(t, names(crm.Principal{ID: "mia", Roles: []string{"manager"}}, "deal"), 4)
	// Support does not see addresses, so it cannot find people by them.
	assert.Empty(t, names(sue, "carl-lead@example.com"))
	assert.Equal(t, []string{"carl's lead "}, names(sue, "carl lead"))
	_, err = a.ws.Search(a.ctx, "bob", crm.SearchOptions{})
	require.ErrorIs(t, err, crm.ErrForbidden, "no principal")
}

// TestSearchMatchesBruteForce compares the search with a scan of every
// record for random names and prefixes.
func TestSearchMatchesBruteForce(t *testing.T) {
	e := setup(t)
	first := []string{"Ann", "Anna", "Annika", "Bo", "Boris", "Chen", "Chidi", "Dana", "Đorđe", "Émile"}
	last := []string{"Andersson", "Berg", "Chang", "Dunn", "Ølsen", "Østergaard", "Petrović"}
	var people []crm.Contact
	for i := range 120 {
		e.clock.Advance(time.Minute) // the newest rank first among equals
		c, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: first[i*7%len(first)], LastName: last[i*3%len(last)]})
		require.NoError(t, err)
		people = append(people, c)
	}
	fold := func(s string) string {
		r := strings.NewReplacer("đ", "d", "ø", "o", "é", "e", "ć", "c")
		return r.Replace(strings.ToLower(s))
	}
	for _, q := range []string{"an", "ann", "anna", "bo", "chi", "dana", "dor", "emi", "ol", "oster", "petro", "ann and", "an berg", "bo d", "x"} {
		// The brute-force ranking: whole-word matches first, then the
		// newest.
		type ranked struct {
			id    string
			exact bool
			at    time.Time
		}
		var want []ranked
		for _, c := range people {
			words := []string{fold(c.FirstName), fold(c.LastName)}
			ok, exact := true, true
			for _, qw := range strings.Fields(q) {
				ok = ok && slices.ContainsFunc(words, func(w string) bool { return strings.HasPrefix(w, qw) })
				exact = exact && slices.Contains(words, qw)
			}
			if ok {
				want = append(want, ranked{c.ID, exact, c.UpdatedAt})
			}
		}
		slices.SortStableFunc(want, func(a, b ranked) int {
			if a.exact != b.exact {
				if a.exact {
					return -1
				}
				return 1
			}
			return b.at.Compare(a.at)
		})
		var wantIDs []string
		for _, r := range want {
			wantIDs = append(wantIDs, r.id)
		}
		hits, err := e.ws.Search(e.ctx, q, crm.SearchOptions{Kinds: []crm.Kind{crm.KindContact}, Limit: 100})
		require.NoError(t, err)
		var got []string
		for _, h := range hits {
			got = append(got, h.ID)
		}
		assert.Equal(t, wantIDs, got, "%q", q)
	}
}

func TestSearchCustomFields(t *testing.T) {
	e := setup(t)
	ada, err := e.ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "Ada", Custom: nil})
	require.NoError(t, err)
	_, err = e.ws.Fields().Define(e.ctx, crm.FieldDef{Object: crm.KindContact, Name: "nickname", Type: crm.FieldText})
	require.NoError(t, err)
	_, err = e.ws.Contacts().Update(e.ctx, ada.ID, func(c *crm.Contact) error {
		c.Custom = crm.Custom{"nickname": "Enchantress of Numbers"}
		return nil
	})
	require.NoError(t, err)
	find := func(q string) []string {
		hits, err := e.ws.Search(e.ctx, q, crm.SearchOptions{})
		require.NoError(t, err)
		return hitNames(t, hits)
	}
	assert.Empty(t, find("enchantress"), "not searchable yet")

	// Made searchable, the records already holding it are found at once.
	_, err = e.ws.Fields().Define(e.ctx, crm.FieldDef{Object: crm.KindContact, Name: "nickname", Type: crm.FieldText, Searchable: true})
	require.NoError(t, err)
	assert.Equal(t, []string{"Ada "}, find("enchant num"))
	rep, err := e.ws.Check(e.ctx, crm.CheckOptions{})
	require.NoError(t, err)
	assert.Zero(t, rep.Drifted(), rep.Issues)

	_, err = e.ws.Fields().Define(e.ctx, crm.FieldDef{Object: crm.KindContact, Name: "vip", Type: crm.FieldBool, Searchable: true})
	assert.Equal(t, []string{"searchable"}, fieldErrors(t, err))
	_, err = e.ws.Fields().Define(e.ctx, crm.FieldDef{Object: crm.KindActivity, Name: "room", Type: crm.FieldText, Searchable: true})
	assert.Equal(t, []string{"searchable"}, fieldErrors(t, err))

	require.NoError(t, e.ws.Fields().Remove(e.ctx, crm.KindContact, "nickname"))
	assert.Empty(t, find("enchantress"), "a removed field is not searched")
	assert.Equal(t, []string{"Ada "}, find("ada"))
	rep, err = e.ws.Check(e.ctx, crm.CheckOptions{})
	require.NoError(t, err)
	assert.Zero(t, rep.Drifted(), rep.Issues)
}
