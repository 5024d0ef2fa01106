package crm

import (
	"testing"
	"time"

	"github.com/vmihailenco/msgpack/v5"
)

// TestEventFormatsDecode decodes an event in each format the outbox has
// held: a msgpack map (recordFormat), the 15-field array without Op
// (compactFormat) and today's storedEvent (eventFormat), and checks that
// each gets its fields and an Op, derived from the type where the format
// did not store one.
func TestEventFormatsDecode(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	want := Event{
		ID: eventID("chg_abc", 1), Type: DealWon, ChangeID: "chg_abc", Kind: KindDeal, RecordID: "dea_1",
		Actor: "u_1", At: at, Version: 3, Rule: "rul_1", Depth: 2, Op: OpCreated,
	}
	cur, err := encodeEvent(&want, 1)
	if err != nil {
		t.Fatal(err)
	}
	if cur[0] != eventFormat {
		t.Fatalf("encodeEvent wrote format %d, want %d", cur[0], eventFormat)
	}
	type v2 struct {
		_msgpack                      struct{} `msgpack:",as_array"`
		Type                          EventType
		ChangeID                      string
		Index                         int
		Kind, RecordID, Actor, Source string
		At                            time.Time
		Version, BeforeVersion        uint64
		Rule                          string
		Depth                         int
		Fields                        []FieldChange
		Before                        []byte
		Redacted                      bool
	}
	old := func(typ EventType) []byte {
		b, err := msgpack.Marshal(&v2{Type: typ, ChangeID: "chg_abc", Index: 1, Kind: "deal", RecordID: "dea_1", Actor: "u_1", At: at, Version: 3, Rule: "rul_1", Depth: 2})
		if err != nil {
			t.Fatal(err)
		}
		return append([]byte{compactFormat}, b...)
	}
	mapped, err := encode(&Event{ID: want.ID, Type: DealDeleted, ChangeID: "chg_abc", Kind: KindDeal, RecordID: "dea_1", At: at})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		b      []byte
		typ    EventType
		wantOp Op
	}{
		{"current", cur, DealWon, OpCreated},
		{"compact, op in the type", old(DealUpdated), DealUpdated, OpUpdated},
		{"compact, no op in the type", old(DealWon), DealWon, ""},
		{"map", mapped, DealDeleted, OpDeleted},
	} {
		var got Event
		if err := decodeEvent(tc.b, &got); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got.Type != tc.typ || got.Op != tc.wantOp || got.ID != want.ID || got.RecordID != "dea_1" || !got.At.Equal(at) {
			t.Errorf("%s: got %+v, want type %s op %q", tc.name, got, tc.typ, tc.wantOp)
		}
		if tc.name != "map" && (got.Version != 3 || got.Rule != "rul_1" || got.Depth != 2 || got.Actor != "u_1") {
			t.Errorf("%s: lost fields: %+v", tc.name, got)
		}
	}
}
