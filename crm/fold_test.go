package crm_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/filter"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// foldSamples are local parts whose letters fold in unusual ways: the
// long s (ſ) and the Kelvin sign (K) fold to ASCII letters, the final
// sigma to sigma, dotted and dotless i do not fold to i.
var foldSamples = []string{"sam", "SAM", "ſam", "ſAM", "kay", "Kay", "KAY", "σοφία", "ΣΟΦΊΑ", "σοφίας", "ΣΟΦΊΑΣ", "ilk", "İlk", "ılk", "ILK"}

// TestUniqueKeysLookupsAndFiltersFoldAlike stores each address in a
// fresh workspace with another one, and checks that the three ways of
// asking "is it the same address?" agree for every pair: the unique
// index refusing the second, GetByEmail finding the first by the second,
// and the filter emails = second counting the first.
func TestUniqueKeysLookupsAndFiltersFoldAlike(t *testing.T) {
	e := setup(t)
	for i, a := range foldSamples {
		for j, b := range foldSamples {
			if i >= j {
				continue
			}
			ws, err := e.crm.CreateWorkspace(e.ctx, crm.WorkspaceInfo{ID: fmt.Sprintf("w%d-%d", i, j), Name: "W"})
			require.NoError(t, err)
			ea, eb := a+"@example.com", b+"@example.com"
			_, err = ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "A", Emails: []string{ea}})
			require.NoError(t, err)

			_, err = ws.Contacts().Create(e.ctx, crm.Contact{FirstName: "B", Emails: []string{eb}})
			unique := errors.Is(err, crm.ErrInvalid)
			if !unique {
				require.NoError(t, err)
			}
			found, err := ws.Contacts().GetByEmail(e.ctx, eb)
			lookup := err == nil && found.FirstName == "A"
			n, err := ws.Query(crm.KindContact, filter.Where("emails").Eq(eb)).Count(e.ctx)
			require.NoError(t, err)
			matches := n == 2 || (unique && n == 1)

			assert.Equal(t, unique, lookup, "%q and %q: the unique index says same %v, the lookup %v", a, b, unique, lookup)
			assert.Equal(t, unique, matches, "%q and %q: the unique index says same %v, the filter counts %d", a, b, unique, n)
			assert.Equal(t, filter.Fold(a) == filter.Fold(b), unique, "%q and %q: the fold", a, b)
		}
	}
}
