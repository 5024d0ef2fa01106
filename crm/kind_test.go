package crm_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"

	"github.com/crmkit/crmkit/crm"
)

// oldSegment and oldGrant are crm.Segment and crm.Grant as they were
// declared when kinds were bare strings: what every value on disk was
// encoded from.
type oldSegment struct {
	ID        string    `msgpack:"id"`
	Name      string    `msgpack:"name"`
	Object    string    `msgpack:"object"`
	Filter    string    `msgpack:"filter,omitempty"`
	Static    bool      `msgpack:"static,omitempty"`
	CreatedAt time.Time `msgpack:"created_at"`
	UpdatedAt time.Time `msgpack:"updated_at"`
}

type oldGrant struct {
	Kind    string       `msgpack:"kind"`
	Actions []crm.Action `msgpack:"actions"`
	Scope   crm.Scope    `msgpack:"scope"`
}

func TestKindMsgpackMatchesTheOldStrings(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for _, k := range append(crm.RecordKinds(), crm.KindSegment, crm.KindWorkspace, crm.AnyKind, crm.Kind{}) {
		t.Run(k.String(), func(t *testing.T) {
			old, err := msgpack.Marshal(k.String())
			require.NoError(t, err)
			got, err := msgpack.Marshal(k)
			require.NoError(t, err)
			assert.Equal(t, old, got, "a kind alone")

			oldSeg := oldSegment{ID: "seg_1", Name: "Leads", Object: k.String(), Filter: `lifecycle = "lead"`, CreatedAt: at, UpdatedAt: at}
			oldB, err := crm.Marshal(&oldSeg)
			require.NoError(t, err)
			newB, err := crm.Marshal(&crm.Segment{ID: "seg_1", Name: "Leads", Object: k, Filter: `lifecycle = "lead"`, CreatedAt: at, UpdatedAt: at})
			require.NoError(t, err)
			assert.Equal(t, oldB, newB, "a segment")
			var seg crm.Segment
			require.NoError(t, crm.Unmarshal(oldB, &seg))
			assert.Equal(t, k, seg.Object, "an old segment decodes")

			oldB, err = msgpack.Marshal(oldGrant{Kind: k.String(), Actions: []crm.Action{crm.ActionRead}, Scope: crm.ScopeAll})
			require.NoError(t, err)
			newB, err = msgpack.Marshal(crm.Grant{Kind: k, Actions: []crm.Action{crm.ActionRead}, Scope: crm.ScopeAll})
			require.NoError(t, err)
			assert.Equal(t, oldB, newB, "a grant")
			var g crm.Grant
			require.NoError(t, msgpack.Unmarshal(oldB, &g))
			assert.Equal(t, k, g.Kind, "an old grant decodes")
		})
	}
}

func TestKindMsgpackOmitsTheZeroKindAsTheEmptyString(t *testing.T) {
	type oldT struct {
		Kind string `msgpack:"kind,omitempty"`
	}
	type newT struct {
		Kind crm.Kind `msgpack:"kind,omitempty"`
	}
	for _, k := range []crm.Kind{{}, crm.KindDeal} {
		old, err := msgpack.Marshal(oldT{k.String()})
		require.NoError(t, err)
		got, err := msgpack.Marshal(newT{k})
		require.NoError(t, err)
		assert.Equal(t, old, got, k.String())
	}
	var n newT
	require.NoError(t, msgpack.Unmarshal([]byte{0x81, 0xa4, 'k', 'i', 'n', 'd', 0xc0}, &n), "a nil kind")
	assert.True(t, n.Kind.IsZero())
}

func TestKindDecodingKeepsAnUnknownName(t *testing.T) {
	// A value written by a newer version, or sent by a client, may name a
	// kind this one does not know: it decodes, equals no known kind, and
	// encodes back as it was; the calls that take it reject it.
	b, err := msgpack.Marshal(oldGrant{Kind: "invoice", Actions: []crm.Action{crm.ActionRead}, Scope: crm.ScopeAll})
	require.NoError(t, err)
	var g crm.Grant
	require.NoError(t, msgpack.Unmarshal(b, &g))
	assert.Equal(t, "invoice", g.Kind.String())
	assert.NotContains(t, append(crm.RecordKinds(), crm.AnyKind), g.Kind)
	again, err := msgpack.Marshal(g)
	require.NoError(t, err)
	assert.Equal(t, b, again)

	var seg crm.Segment
	require.NoError(t, json.Unmarshal([]byte(`{"name":"x","object":"contacts"}`), &seg))
	assert.Equal(t, "contacts", seg.Object.String())
	assert.NotEqual(t, crm.KindContact, seg.Object, "JSON reads no plurals")
}

func TestKindJSONKeepsTheText(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"ref", crm.Ref{Kind: crm.KindContact, ID: "con_1"}, `{"kind":"contact","id":"con_1"}`},
		{"segment", crm.Segment{ID: "seg_1", Name: "Big", Object: crm.KindDeal, Filter: "amount > 100", CreatedAt: at, UpdatedAt: at},
			`{"id":"seg_1","name":"Big","object":"deal","filter":"amount \u003e 100","created_at":"2026-03-02T09:00:00Z","updated_at":"2026-03-02T09:00:00Z"}`},
		{"grant", crm.Grant{Kind: crm.AnyKind, Actions: []crm.Action{crm.ActionRead}, Scope: crm.ScopeAll}, `{"kind":"*","actions":["read"],"scope":"all"}`},
		{"drift without kind", crm.Drift{Problem: crm.DriftCounter, Key: []byte("k")}, `{"problem":"counter","key":"aw==","reason":""}`},
		{"search options", crm.SearchOptions{Kinds: []crm.Kind{crm.KindCompany, crm.KindDeal}}, `{"Kinds":["company","deal"],"Limit":0}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.v)
			require.NoError(t, err)
			assert.JSONEq(t, tc.want, string(b))
		})
	}

	ev := crm.Event{ID: "evt_1", Type: crm.DealWon, Kind: crm.KindDeal, RecordID: "deal_1", At: at}
	b, err := json.Marshal(ev)
	require.NoError(t, err)
	var fields map[string]any
	require.NoError(t, json.Unmarshal(b, &fields))
	assert.Equal(t, "deal", fields["kind"])
	var back crm.Event
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, crm.KindDeal, back.Kind)

	var ref crm.Ref
	require.NoError(t, json.Unmarshal([]byte(`{"kind":"company","id":"com_1"}`), &ref))
	assert.Equal(t, crm.Ref{Kind: crm.KindCompany, ID: "com_1"}, ref)
	require.NoError(t, json.Unmarshal([]byte(`{"kind":"","id":"com_1"}`), &ref))
	assert.True(t, ref.Kind.IsZero())
}

func TestParseKind(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want crm.Kind
	}{
		{"contact", crm.KindContact}, {"contacts", crm.KindContact},
		{"company", crm.KindCompany}, {"companies", crm.KindCompany},
		{"deal", crm.KindDeal}, {"deals", crm.KindDeal},
		{"activity", crm.KindActivity}, {"activities", crm.KindActivity},
		{"purchase", crm.KindPurchase}, {"purchases", crm.KindPurchase},
		{"pipeline", crm.KindPipeline}, {"pipelines", crm.KindPipeline},
		{"segment", crm.KindSegment}, {"workspace", crm.KindWorkspace},
		{"*", crm.AnyKind},
	} {
		got, err := crm.ParseKind(tc.in)
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, got, tc.in)
	}
	for _, bad := range []string{"", "lead", "Contact", " contact", "contact ", "companys", "kind"} {
		t.Run("bad "+bad, func(t *testing.T) {
			k, err := crm.ParseKind(bad)
			assert.True(t, k.IsZero())
			assert.ErrorIs(t, err, crm.ErrInvalid)
			var ve *crm.ValidationError
			require.True(t, errors.As(err, &ve), "%v", err)
			require.Len(t, ve.Fields, 1)
			assert.Equal(t, "kind", ve.Fields[0].Field)
			assert.Contains(t, ve.Fields[0].Reason, "contact, company, deal, activity, purchase, pipeline, segment, workspace, *")
		})
	}
}

func TestKindValues(t *testing.T) {
	kinds := crm.RecordKinds()
	assert.Equal(t, []crm.Kind{crm.KindContact, crm.KindCompany, crm.KindDeal, crm.KindActivity, crm.KindPurchase, crm.KindPipeline}, kinds)
	seen := map[crm.Kind]bool{}
	for _, k := range kinds {
		assert.False(t, k.IsZero())
		assert.False(t, seen[k], "%s twice", k)
		seen[k] = true
		back, err := crm.ParseKind(k.String())
		require.NoError(t, err)
		assert.Equal(t, k, back, "a kind's name parses to it")
		text, err := k.MarshalText()
		require.NoError(t, err)
		assert.Equal(t, k.String(), string(text))
	}
	assert.True(t, crm.Kind{}.IsZero())
	assert.Equal(t, "", crm.Kind{}.String())
	kinds[0] = crm.KindDeal
	assert.Equal(t, crm.KindContact, crm.RecordKinds()[0], "RecordKinds returns a copy")
}
