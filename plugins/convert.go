package plugins

import (
	"encoding/json"
	"fmt"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/plugins/proto"
)

// toProto converts a committed event to its wire form, the records as
// JSON.
func toProto(ev *crm.Event) (*proto.Event, error) {
	pe := &proto.Event{
		Id: ev.ID, Seq: ev.Seq, Type: string(ev.Type), ChangeId: ev.ChangeID, Workspace: ev.Workspace,
		Kind: ev.Kind.String(), RecordId: ev.RecordID, Actor: ev.Actor, Source: ev.Source,
		AtUnixNano: ev.At.UnixNano(), Redacted: ev.Redacted,
	}
	var err error
	if pe.Record, err = recordJSON(ev.Record()); err != nil {
		return nil, err
	}
	if pe.Previous, err = recordJSON(ev.Previous()); err != nil {
		return nil, err
	}
	for _, f := range ev.Fields {
		fc := &proto.FieldChange{Field: f.Field}
		if fc.Old, err = json.Marshal(f.Old); err != nil {
			return nil, err
		}
		if fc.New, err = json.Marshal(f.New); err != nil {
			return nil, err
		}
		pe.Fields = append(pe.Fields, fc)
	}
	return pe, nil
}

func recordJSON(r any, err error) ([]byte, error) {
	if err != nil || r == nil {
		return nil, err
	}
	return json.Marshal(r)
}

// kindOf reads a kind a plugin named, on the wire or in its manifest,
// where kinds stay strings: only a kind's own name ("contact") is valid
// there. An unknown name is the plugin's fault: ErrMalformed.
func kindOf(name string) (crm.Kind, error) {
	k, err := crm.ParseKind(name)
	if err != nil || k.String() != name {
		return crm.Kind{}, fmt.Errorf("%w: no kind %q", ErrMalformed, name)
	}
	return k, nil
}
