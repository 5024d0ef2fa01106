package crmio_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crmio"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// exportEmails exports contacts with opts and returns the email column.
func exportEmails(t *testing.T, ws *crm.Workspace, opts crmio.ExportOptions) ([]string, error) {
	t.Helper()
	var b bytes.Buffer
	opts.Object, opts.Columns = crmio.ObjectContact, []string{"emails"}
	n, err := crmio.Export(context.Background(), ws, &b, opts)
	if err != nil {
		return nil, err
	}
	recs, err := csv.NewReader(&b).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, n+1, "a header and a row per record")
	var out []string
	for _, r := range recs[1:] {
		out = append(out, r[0])
	}
	slices.Sort(out)
	return out, nil
}

func TestExportSegmentAndWhere(t *testing.T) {
	onBackends(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		ws := newWorkspace(t, b.open(t))
		var in []crm.Contact
		for i := range 6 {
			c := crm.Contact{FirstName: fmt.Sprint("P", i), Emails: []string{fmt.Sprintf("p%d@example.com", i)}, Address: crm.Address{Country: "DE"}}
			if i%2 == 1 {
				c.Address.Country = "FR"
			}
			if i >= 4 {
				c.Lifecycle = "customer"
			}
			in = append(in, c)
		}
		cs, err := ws.Contacts().CreateMany(ctx, in)
		require.NoError(t, err)
		require.NoError(t, ws.Contacts().Delete(ctx, cs[2].ID)) // a deleted member is not exported

		german, err := ws.Segments().Create(ctx, crm.Segment{Name: "Germany", Object: crm.KindContact, Filter: `address.country = "DE"`})
		require.NoError(t, err)
		got, err := exportEmails(t, ws, crmio.ExportOptions{Segment: german.ID})
		require.NoError(t, err)
		assert.Equal(t, []string{"p0@example.com", "p4@example.com"}, got)

		got, err = exportEmails(t, ws, crmio.ExportOptions{Where: `lifecycle = "customer"`, Format: crmio.CSV})
		require.NoError(t, err)
		assert.Equal(t, []string{"p4@example.com", "p5@example.com"}, got)

		got, err = exportEmails(t, ws, crmio.ExportOptions{Segment: german.ID, Where: `lifecycle = "customer"`})
		require.NoError(t, err)
		assert.Equal(t, []string{"p4@example.com"}, got, "segment and filter together")

		static, err := ws.Segments().Create(ctx, crm.Segment{Name: "Picked", Object: crm.KindContact, Static: true})
		require.NoError(t, err)
		require.NoError(t, ws.Segments().Add(ctx, static.ID, cs[1].ID, cs[3].ID, cs[5].ID))
		got, err = exportEmails(t, ws, crmio.ExportOptions{Segment: static.ID})
		require.NoError(t, err)
		assert.Equal(t, []string{"p1@example.com", "p3@example.com", "p5@example.com"}, got)
		got, err = exportEmails(t, ws, crmio.ExportOptions{Segment: static.ID, Where: `lifecycle = "customer"`})
		require.NoError(t, err)
		assert.Equal(t, []string{"p5@example.com"}, got, "a static segment and a filter")

		// Bad options are refused before anything is written.
		_, err = exportEmails(t, ws, crmio.ExportOptions{Segment: "seg_missing"})
		assert.ErrorIs(t, err, crm.ErrNotFound)
		_, err = exportEmails(t, ws, crmio.ExportOptions{Where: `lifecycle = `})
		assert.ErrorIs(t, err, crmio.ErrOptions)
		_, err = exportEmails(t, ws, crmio.ExportOptions{Where: `shoe_size = 4`})
		assert.ErrorIs(t, err, crmio.ErrOptions, "an unknown field")
		deals, err := ws.Segments().Create(ctx, crm.Segment{Name: "Big deals", Object: crm.KindDeal, Filter: `amount > 100`})
		require.NoError(t, err)
		_, err = exportEmails(t, ws, crmio.ExportOptions{Segment: deals.ID})
		assert.ErrorIs(t, err, crmio.ErrOptions, "a deal segment for a contact export")
		var b2 bytes.Buffer
		_, err = crmio.Export(ctx, ws, &b2, crmio.ExportOptions{Object: crmio.ObjectActivity, Where: `type = "call"`})
		assert.True(t, errors.Is(err, crmio.ErrOptions), "%v", err)
		assert.Zero(t, b2.Len())
	})
}
