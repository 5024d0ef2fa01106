package crmio_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"

	"github.com/crmkit/crmkit/crmio"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rejectsText writes the result's rejects file.
func rejectsText(t testing.TB, res *crmio.ImportResult) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, res.WriteRejects(&b))
	return b.String()
}

// TestImportRejectsFileAgain imports a file with bad rows, fixes cells of
// its rejects file and imports that file as it is: its _line and _error
// columns are skipped quietly, and the next rejects file has its own
// _line and _error only.
func TestImportRejectsFileAgain(t *testing.T) {
	onBackends(t, func(t *testing.T, b backend) {
		t.Run("csv", func(t *testing.T) {
			ws := newWorkspace(t, b.open(t))
			seedCompanies(t, ws)
			opts := crmio.ImportOptions{Object: crmio.ObjectContact}
			in := "first_name,email,birthday,company\n" +
				"Ada,ada@example.com,1815-12-10,acme.com\n" +
				"Bob,bob@bad,31/31/1990,Globex\n" +
				"Cy,cy@example.com,,Initech\n" +
				"Dee,dee@example.com,,,ragged\n" +
				"Eve,eve@example.com,,Globex\n"
			res := importString(t, ws, in, opts)
			require.Equal(t, 2, res.Created)
			require.Equal(t, 3, res.Rejected)
			first := rejectsText(t, res)
			require.True(t, strings.HasPrefix(first, "first_name,email,birthday,company,_line,_error\n"), first)

			// Fix Bob's two cells; Cy's company stays unknown, Dee's row
			// stays ragged.
			fixed := strings.Replace(strings.Replace(first, "bob@bad", "bob@example.com", 1), "31/31/1990", "1990-12-31", 1)
			res = importString(t, ws, fixed, opts)
			assert.Equal(t, 1, res.Created, "%v", res.Rejects)
			assert.Empty(t, res.Ignored, "_line and _error are not unknown columns")
			assert.NotContains(t, res.Mapping, "_line")
			assert.NotContains(t, res.Mapping, "_error")
			assert.Equal(t, []string{"first_name", "email", "birthday", "company"}, res.Header)
			require.Len(t, res.Rejects, 2)
			assert.Equal(t, []string{"Cy", "cy@example.com", "", "Initech"}, res.Rejects[0].Raw, "without the old _line and _error")

			cr := csv.NewReader(strings.NewReader(rejectsText(t, res)))
			cr.FieldsPerRecord = -1
			second, err := cr.ReadAll()
			require.NoError(t, err)
			require.Len(t, second, 3)
			assert.Equal(t, []string{"first_name", "email", "birthday", "company", "_line", "_error"}, second[0])
			assert.Equal(t, []string{"Cy", "cy@example.com", "", "Initech", "3", `company: no company named "Initech" or with that domain`}, second[1],
				"the new line (in the rejects file) and the new error only")
			assert.Equal(t, []string{"Dee", "dee@example.com", "", "", "4", "the row has 7 fields, the header has 6", "ragged"}, second[2],
				"a ragged row keeps its extra field after the one _error")

			// Fix the rest: everything lands.
			var again bytes.Buffer
			w := csv.NewWriter(&again)
			second[1][3] = "acme.com"
			second[2] = second[2][:6]
			require.NoError(t, w.WriteAll(second))
			res = importString(t, ws, again.String(), opts)
			assert.Equal(t, 2, res.Created, "%v", res.Rejects)
			assert.Zero(t, res.Rejected)
			assert.Len(t, contacts(t, ws), 5)
		})

		t.Run("jsonl", func(t *testing.T) {
			ws := newWorkspace(t, b.open(t))
			opts := crmio.ImportOptions{Object: crmio.ObjectContact, Format: crmio.JSONL}
			res := importString(t, ws, `{"first_name":"Ada","emails":["ada@bad"]}`+"\n"+`{"first_name":"Bob","country":"XX"}`+"\n", opts)
			require.Equal(t, 2, res.Rejected)
			fixed := strings.Replace(rejectsText(t, res), `["ada@bad"]`, `["ada@example.com"]`, 1)
			res = importString(t, ws, fixed, opts)
			assert.Equal(t, 1, res.Created, "%v", res.Rejects)
			assert.Empty(t, res.Ignored, "_line and _error are not unknown keys")
			lines := strings.Split(strings.TrimSpace(rejectsText(t, res)), "\n")
			require.Len(t, lines, 1)
			var obj map[string]any
			require.NoError(t, json.Unmarshal([]byte(lines[0]), &obj))
			assert.Equal(t, float64(2), obj["_line"], "the line in the rejects file")
			assert.Contains(t, obj["_error"], "country")
		})
	})
}
