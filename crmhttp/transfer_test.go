package crmhttp_test

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crmhttp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const contactsCSV = "first_name,last_name,email,tags\n" +
	"Ada,Lovelace,ada@example.com,vip\n" +
	"Grace,Hopper,grace@example.com,\n" +
	"Bad,Email,not-an-email,\n" +
	"Alan,Turing,alan@example.com,vip;newsletter\n"

func (r reply) importResult(t *testing.T) crmhttp.ImportResult {
	t.Helper()
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	var res crmhttp.ImportResult
	r.decode(t, &res)
	return res
}

// sseEvents splits a stream of server-sent events into (event, data)
// pairs, leaving out comments.
func sseEvents(t *testing.T, body []byte) [][2]string {
	t.Helper()
	var out [][2]string
	var ev, data string
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if ev != "" || data != "" {
				out = append(out, [2]string{ev, data})
			}
			ev, data = "", ""
		case strings.HasPrefix(line, "event: "):
			ev = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		}
	}
	require.NoError(t, sc.Err())
	return out
}

func TestImport(t *testing.T) {
	e := setup(t, crmhttp.WithMaxBodyBytes(64)) // imports are not bound by it
	c := e.admin(t)

	res := c.do("POST", "/import/contacts", contactsCSV, "Content-Type", "text/csv").importResult(t)
	assert.Equal(t, 4, res.Read)
	assert.Equal(t, 3, res.Created)
	assert.Equal(t, 1, res.Rejected)
	require.Len(t, res.Rejects, 1)
	assert.Equal(t, 4, res.Rejects[0].Line)
	assert.Equal(t, "email", res.Rejects[0].Column)
	assert.Equal(t, "csv", res.Format)
	got, err := e.WS.Contacts().GetByEmail(e.Ctx, "alan@example.com")
	require.NoError(t, err)
	assert.Equal(t, []string{"vip", "newsletter"}, got.Tags)

	// Again with an upsert key: the same rows change nothing.
	res = c.do("POST", "/import/contacts?upsert_by=email", contactsCSV, "Content-Type", "text/csv; charset=utf-8").importResult(t)
	assert.Equal(t, 0, res.Created)
	assert.Equal(t, 3, res.Skipped)

	// JSON Lines, and a dry run that writes nothing.
	jsonl := `{"name":"Acme","domain":"acme.example"}` + "\n" + `{"name":"Globex","domain":"globex.example"}` + "\n"
	res = c.do("POST", "/import/companies?dry_run=true", jsonl, "Content-Type", "application/x-ndjson").importResult(t)
	assert.Equal(t, 2, res.Created)
	assert.True(t, res.DryRun)
	pg, err := e.WS.Companies().Page(e.Ctx, crm.ListOptions{})
	require.NoError(t, err)
	assert.Empty(t, pg.Items)
	res = c.do("POST", "/import/companies", jsonl, "Content-Type", "application/x-ndjson").importResult(t)
	assert.Equal(t, 2, res.Created)
	assert.Equal(t, "jsonl", res.Format)

	t.Run("progress as server-sent events", func(t *testing.T) {
		c.t = t
		body := "name,domain\n" + "One,one.example\n" + "Two,two.example\n" + "Three,three.example\n"
		r := c.do("POST", "/import/companies?batch_size=1", body, "Content-Type", "text/csv", "Accept", "text/event-stream")
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		assert.Equal(t, "text/event-stream", r.Header.Get("Content-Type"))
		evs := sseEvents(t, r.Body)
		require.NotEmpty(t, evs)
		last := evs[len(evs)-1]
		require.Equal(t, "result", last[0], "%s", r.Body)
		var res crmhttp.ImportResult
		require.NoError(t, json.Unmarshal([]byte(last[1]), &res))
		assert.Equal(t, 3, res.Created)
		var reads []int
		for _, ev := range evs[:len(evs)-1] {
			require.Equal(t, "progress", ev[0])
			var p crmhttp.ImportProgress
			require.NoError(t, json.Unmarshal([]byte(ev[1]), &p))
			reads = append(reads, p.Read)
		}
		assert.Equal(t, []int{1, 2, 3}, reads, "one event per committed batch")

		// A failure after the stream opened is an error event.
		r = c.do("POST", "/import/companies?upsert_by=shoe_size", body, "Content-Type", "text/csv", "Accept", "text/event-stream")
		evs = sseEvents(t, r.Body)
		require.NotEmpty(t, evs)
		assert.Equal(t, "error", evs[len(evs)-1][0], "%s", r.Body)
	})

	t.Run("bad requests", func(t *testing.T) {
		tests := []struct {
			name, path, ct, body string
			status               int
			field                string
		}{
			{"JSON is not a file", "/import/contacts", "application/json", `{}`, http.StatusUnsupportedMediaType, ""},
			{"an unknown kind", "/import/widgets", "text/csv", "name\nx\n", http.StatusNotFound, ""},
			{"a bad separator", "/import/contacts?comma=%3B%3B", "text/csv", contactsCSV, http.StatusBadRequest, "comma"},
			{"a bad batch size", "/import/contacts?batch_size=0", "text/csv", contactsCSV, http.StatusBadRequest, "batch_size"},
			{"a bad time zone", "/import/contacts?tz=Mars/Olympus", "text/csv", contactsCSV, http.StatusBadRequest, "tz"},
			{"a bad flag", "/import/contacts?dry_run=maybe", "text/csv", contactsCSV, http.StatusBadRequest, "dry_run"},
			{"an unknown upsert key", "/import/contacts?upsert_by=shoe_size", "text/csv", contactsCSV, http.StatusBadRequest, ""},
			{"an empty file", "/import/contacts", "text/csv", "", http.StatusBadRequest, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c.t = t
				p := c.do("POST", tt.path, tt.body, "Content-Type", tt.ct).problem(t)
				assert.Equal(t, tt.status, p.Status, "%+v", p)
				if tt.field != "" {
					assert.Equal(t, []string{tt.field}, fields(p))
				}
			})
		}
	})

	t.Run("the import cap", func(t *testing.T) {
		small := setup(t, crmhttp.WithMaxImportBytes(100)).admin(t)
		p := small.do("POST", "/import/contacts", contactsCSV+strings.Repeat("Zed,Zed,,\n", 20), "Content-Type", "text/csv").problem(t)
		assert.Equal(t, http.StatusRequestEntityTooLarge, p.Status)
	})
}

func TestExport(t *testing.T) {
	e := setup(t)
	c := e.admin(t)
	c.do("POST", "/import/contacts", contactsCSV, "Content-Type", "text/csv").importResult(t)

	r := c.do("GET", "/export/contacts", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	assert.Equal(t, "text/csv; charset=utf-8", r.Header.Get("Content-Type"))
	recs, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, 4, "a header and three contacts")
	assert.Contains(t, recs[0], "emails")

	r = c.do("GET", "/export/contacts?columns=first_name,emails&where="+url.QueryEscape(`tags CONTAINS "vip"`), nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	recs, err = csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
	require.NoError(t, err)
	assert.Equal(t, [][]string{{"first_name", "emails"}, {"Ada", "ada@example.com"}, {"Alan", "alan@example.com"}}, recs)

	for _, r := range []reply{c.do("GET", "/export/contacts?format=jsonl", nil), c.do("GET", "/export/contacts", nil, "Accept", "application/x-ndjson")} {
		require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
		assert.Equal(t, "application/x-ndjson", r.Header.Get("Content-Type"))
		lines := strings.Split(strings.TrimSpace(string(r.Body)), "\n")
		require.Len(t, lines, 3)
		var row map[string]any
		require.NoError(t, json.Unmarshal([]byte(lines[0]), &row))
		assert.Equal(t, "Ada", row["first_name"])
	}

	// An export imports into another workspace as it was.
	_, err = e.CRM.CreateWorkspace(e.Ctx, crm.WorkspaceInfo{ID: "globex", Name: "Globex"})
	require.NoError(t, err)
	res := c.do("POST", "/import/contacts", string(c.do("GET", "/export/contacts", nil).Body), "Content-Type", "text/csv",
		"X-Workspace", "globex").importResult(t)
	assert.Equal(t, 3, res.Created)
	assert.Empty(t, res.Rejects)

	for _, q := range []string{"format=xml", "columns=shoe_size", "where=" + url.QueryEscape("tags CONTAINS"), "desc=perhaps"} {
		p := c.do("GET", "/export/contacts?"+q, nil).problem(t)
		assert.Equal(t, http.StatusBadRequest, p.Status, q)
	}
	assert.Equal(t, http.StatusNotFound, c.do("GET", "/export/widgets", nil).problem(t).Status)
}

func TestImportExportAccess(t *testing.T) {
	e := setup(t)
	withPolicy(t, e)
	body := "first_name,email\nNew,new@example.com\n"
	// A read-only principal imports nothing; a rep's imported records are
	// theirs.
	p := e.as(t, "rita", "read_only").do("POST", "/import/contacts", body, "Content-Type", "text/csv").problem(t)
	assert.Equal(t, http.StatusForbidden, p.Status)
	res := e.as(t, "bob", "rep").do("POST", "/import/contacts", body, "Content-Type", "text/csv").importResult(t)
	require.Equal(t, 1, res.Created, "%+v", res)
	got, err := e.WS.Contacts().GetByEmail(crm.As(e.Ctx, crm.System()), "new@example.com")
	require.NoError(t, err)
	assert.Equal(t, "bob", got.OwnerID)

	// A rep may not export; a manager exports the team's records.
	p = e.as(t, "bob", "rep").do("GET", "/export/contacts", nil).problem(t)
	assert.Equal(t, http.StatusForbidden, p.Status)
	r := e.as(t, "ann", "manager").do("GET", "/export/contacts?columns=first_name", nil)
	require.Equal(t, http.StatusOK, r.Status, "%s", r.Body)
	recs, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
	require.NoError(t, err)
	assert.Len(t, recs, 4, "a header and the team's three contacts")
}
