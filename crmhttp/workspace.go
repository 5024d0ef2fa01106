package crmhttp

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/crmkit/crmkit/crm"
)

// workspaceRoutes are the operations of the request's workspace settings.
func workspaceRoutes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/workspace", Summary: "Get the workspace's settings",
			Response: "WorkspaceInfo", Status: http.StatusOK, Errors: readErrs, handle: getWorkspace},
		{Method: "PATCH", Pattern: "/workspace", Summary: "Change the workspace's settings",
			Request: "MergePatch", Response: "WorkspaceInfo", Status: http.StatusOK, Errors: writeErrs, handle: patchWorkspace},
	}
}

// getWorkspace answers the workspace's settings. Every principal of the
// workspace reads them: they hold no records, and a client needs its
// time zone and currency to show any.
func getWorkspace(c *call) error {
	return c.writeJSON(http.StatusOK, c.ws.Info())
}

// patchWorkspace merges the body into the workspace's settings (RFC 7396)
// through crm.CRM.UpdateWorkspace, for a principal the policy lets update
// the "workspace" kind. The ID and creation time cannot change.
func patchWorkspace(c *call) error {
	var patch map[string]any
	if err := c.decodeBody(&patch); err != nil {
		return err
	}
	if patch == nil {
		return badRequest("the body must be a JSON object of the settings to change")
	}
	for _, f := range []string{"id", "created_at"} {
		if _, ok := patch[f]; ok {
			return badParam(f, "cannot change")
		}
	}
	if err := c.ws.Can(c.ctx, crm.KindWorkspace, crm.ActionUpdate); err != nil {
		return err
	}
	info, err := c.h.crm.UpdateWorkspace(c.ctx, c.ws.ID(), func(info *crm.WorkspaceInfo) error {
		return mergeInto(info, patch)
	})
	if err != nil {
		return err
	}
	return c.writeJSON(http.StatusOK, info)
}

// mergeInto applies an RFC 7396 merge patch to v through its JSON form,
// refusing fields v does not have.
func mergeInto[T any](v *T, patch map[string]any) error {
	cur, err := json.Marshal(v)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(cur))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return err
	}
	b, err := json.Marshal(mergeObject(doc, patch))
	if err != nil {
		return err
	}
	var next T
	dec = json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&next); err != nil {
		return jsonError(err)
	}
	*v = next
	return nil
}
