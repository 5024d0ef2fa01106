package crmio_test

import (
	"testing"

	"github.com/crmkit/crmkit/crmio"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The same people written two ways (an IDN domain in Unicode and in
// punycode, another case, a national and an international phone number)
// are each imported once.
func TestImportingOnePersonWrittenTwoWaysCreatesOne(t *testing.T) {
	onBackends(t, func(t *testing.T, b backend) {
		ws := newWorkspace(t, b.open(t)) // phone region DE
		in := "first_name,last_name,email,phone\n" +
			"Ada,Lovelace,ada@bücher.de,030 12345678\n" +
			"Grace,Hopper,grace@example.com,+44 20 7946 0958\n" +
			"Ada,Lovelace,ADA@xn--bcher-kva.de,+49 30 12345678\n" +
			"Grace,Hopper,Grace@EXAMPLE.com,+44 (0)20 7946 0958\n"
		res := importString(t, ws, in, crmio.ImportOptions{Object: crmio.ObjectContact, UpsertBy: "email"})
		assert.Empty(t, res.Rejects)
		cs := contacts(t, ws)
		require.Len(t, cs, 2, "one contact per person")
		for _, c := range cs {
			require.Len(t, c.Phones, 1, "%s: the number written two ways is one number", c.FirstName)
			require.Len(t, c.Emails, 1, "%s: the address written two ways is one address", c.FirstName)
		}
	})
}
