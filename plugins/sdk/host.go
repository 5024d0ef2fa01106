package sdk

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/crmkit/crmkit/plugins/proto"
)

// Host reads and writes the CRM data of one workspace, the one of the call
// it was handed to, within the capabilities the plugin declared. It is
// valid only during that call. In a workspace with an access policy it
// acts with the plugin's role (see Manifest.Role): a record the role does
// not reach is not found, and the fields it hides come back empty. Errors
// carry the host's gRPC status: codes.PermissionDenied for a capability
// the plugin lacks, another workspace, or an action its role does not
// allow, codes.NotFound, codes.InvalidArgument for a write the CRM refused
// (the message names each field), codes.FailedPrecondition for a write
// during a before-hook.
type Host struct {
	client    proto.HostClient
	grant     string
	workspace string
}

// Workspace is the workspace the host is confined to.
func (h *Host) Workspace() string { return h.workspace }

// Get reads the record of kind with id into v (a *crm.Contact, say).
func (h *Host) Get(ctx context.Context, kind, id string, v any) error {
	r, err := h.client.Get(ctx, &proto.GetRequest{Grant: h.grant, Workspace: h.workspace, Kind: kind, Id: id})
	if err != nil {
		return fmt.Errorf("sdk: get %s %s: %w", kind, id, err)
	}
	return decodeInto(r.Record, v)
}

// Create stores a new record of kind and decodes the stored record into
// out (nil to skip).
func (h *Host) Create(ctx context.Context, kind string, record, out any) error {
	b, err := json.Marshal(record)
	if err != nil {
		return fmt.Errorf("sdk: create %s: %w", kind, err)
	}
	r, err := h.client.Create(ctx, &proto.CreateRequest{Grant: h.grant, Workspace: h.workspace, Kind: kind, Record: b})
	if err != nil {
		return fmt.Errorf("sdk: create %s: %w", kind, err)
	}
	return decodeInto(r.Record, out)
}

// Update sets fields of a record (by JSON name: "lifecycle",
// "custom.score") and decodes the stored record into out (nil to skip).
// Setting a field to the value it has writes nothing.
func (h *Host) Update(ctx context.Context, kind, id string, fields map[string]any, out any) error {
	req := &proto.UpdateRequest{Grant: h.grant, Workspace: h.workspace, Kind: kind, Id: id}
	for f, v := range fields {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("sdk: update %s %s: field %s: %w", kind, id, f, err)
		}
		req.Changes = append(req.Changes, &proto.FieldValue{Field: f, Json: b})
	}
	r, err := h.client.Update(ctx, req)
	if err != nil {
		return fmt.Errorf("sdk: update %s %s: %w", kind, id, err)
	}
	return decodeInto(r.Record, out)
}

// Timeline returns a page of a record's timeline, newest first: each entry
// is JSON ({"at":..., "activity":{...}} or {"at":..., "change":{...}}),
// decodable into crm.TimelineEntry. cursor is "" for the first page, or
// the next of the page before; next is "" after the last page.
func (h *Host) Timeline(ctx context.Context, kind, id, cursor string, limit int) (entries []json.RawMessage, next string, err error) {
	r, err := h.client.Timeline(ctx, &proto.TimelineRequest{
		Grant: h.grant, Workspace: h.workspace, Kind: kind, Id: id, Cursor: cursor, Limit: uint32(max(0, limit)),
	})
	if err != nil {
		return nil, "", fmt.Errorf("sdk: timeline of %s %s: %w", kind, id, err)
	}
	for _, e := range r.Entries {
		entries = append(entries, e)
	}
	return entries, r.Next, nil
}

// Client and Grant give the raw protocol, for calls the methods above do
// not cover: every request must carry Grant and the workspace.
func (h *Host) Client() proto.HostClient { return h.client }

// Grant is the token scoping this call's requests; see Client.
func (h *Host) Grant() string { return h.grant }

func decodeInto(b []byte, v any) error {
	if v == nil {
		return nil
	}
	return json.Unmarshal(b, v)
}
