package main

import (
	"context"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/examples/plugins/internal/plugintest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLeadScore(t *testing.T) {
	ctx := context.Background()
	_, ws, _ := plugintest.Open(t, plugintest.Build(t, ".", "leadscore"))
	_, err := ws.Fields().Define(ctx, crm.FieldDef{Object: crm.KindContact, Name: "score", Type: crm.FieldNumber})
	require.NoError(t, err)

	ada, err := ws.Contacts().Create(ctx, crm.Contact{FirstName: "Ada", Emails: []string{"ada@example.com"}, Title: "CTO"})
	require.NoError(t, err)
	bob, err := ws.Contacts().Create(ctx, crm.Contact{FirstName: "Bob"})
	require.NoError(t, err)
	waitScore(t, ws, ada.ID, 20)
	waitScore(t, ws, bob.ID, 0)

	for range 3 {
		_, err := ws.Activities().Log(ctx, crm.Activity{Type: crm.ActivityCall, ContactIDs: []string{ada.ID}})
		require.NoError(t, err)
	}
	waitScore(t, ws, ada.ID, 35)
	_, err = ws.Contacts().Update(ctx, bob.ID, func(c *crm.Contact) error {
		c.Phones = []crm.Phone{{Number: "+44 20 7946 0000"}}
		return nil
	})
	require.NoError(t, err)
	waitScore(t, ws, bob.ID, 10)
}

func waitScore(t *testing.T, ws *crm.Workspace, id string, want float64) {
	t.Helper()
	var got any
	assert.Eventually(t, func() bool {
		c, err := ws.Contacts().Get(context.Background(), id)
		require.NoError(t, err)
		got = c.Custom["score"]
		f, ok := got.(float64)
		return ok && f == want
	}, 10*time.Second, 20*time.Millisecond, "score of %s: want %v, have %v", id, want, got)
}
