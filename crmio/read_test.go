package crmio

import (
	"encoding/csv"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readAll reads every row of a CSV or JSON Lines input.
func readAll(t *testing.T, in string, opts ReadOptions) ([]string, []*Row) {
	t.Helper()
	rd := NewReader(strings.NewReader(in), opts)
	h, err := rd.Header()
	require.NoError(t, err)
	var rows []*Row
	for row, err := range rd.Rows() {
		require.NoError(t, err)
		rows = append(rows, row)
	}
	return h, rows
}

func TestReaderCSV(t *testing.T) {
	type want struct {
		line    int
		raw     []string
		problem string // substring of the problem, "" for none
	}
	tests := []struct {
		name   string
		in     string
		opts   ReadOptions
		header []string
		rows   []want
	}{
		{
			name: "bom and crlf", in: "\ufeffa,b\r\n1,2\r\n3,4\r\n",
			header: []string{"a", "b"}, rows: []want{{2, []string{"1", "2"}, ""}, {3, []string{"3", "4"}, ""}},
		},
		{
			name: "quoted newlines count as lines", in: "a,b\n\"x\ny\",1\n\"p\r\nq\r\nr\",2\nlast,3",
			header: []string{"a", "b"},
			rows:   []want{{2, []string{"x\ny", "1"}, ""}, {4, []string{"p\nq\nr", "2"}, ""}, {7, []string{"last", "3"}, ""}},
		},
		{
			name: "blank lines are not rows", in: "a,b\n\n1,2\r\n\r\n\n3,4\n\n",
			header: []string{"a", "b"}, rows: []want{{3, []string{"1", "2"}, ""}, {6, []string{"3", "4"}, ""}},
		},
		{
			name: "ragged rows", in: "a,b,c\n1,2\n1,2,3,4\n1,2,3,,\n",
			header: []string{"a", "b", "c"},
			rows: []want{
				{2, []string{"1", "2"}, "2 fields, the header has 3"},
				{3, []string{"1", "2", "3", "4"}, "4 fields, the header has 3"},
				{4, []string{"1", "2", "3", "", ""}, ""}, // trailing empty fields are tolerated
			},
		},
		{
			name: "lazy quotes by default", in: "a,b\n24\" screen,1\n\"say \"\"hi\"\"\",2\n",
			header: []string{"a", "b"},
			rows:   []want{{2, []string{`24" screen`, "1"}, ""}, {3, []string{`say "hi"`, "2"}, ""}},
		},
		{
			name: "strict quotes reject and go on", in: "a,b\n24\" screen,1\n\"ab\"c,2\nok,3\n",
			opts:   ReadOptions{StrictQuotes: true},
			header: []string{"a", "b"},
			rows: []want{
				// A row that does not parse keeps its fields read leniently,
				// for the reject.
				{2, []string{`24" screen`, "1"}, "quote inside an unquoted field (line 2"},
				{3, []string{"ab\"c,2\n"}, "not closed properly (line 3"},
				{4, []string{"ok", "3"}, ""},
			},
		},
		{
			name: "error on the second line of a quoted field", in: "a,b\n\"x\ny\"z,1\nok,2\n",
			opts:   ReadOptions{StrictQuotes: true},
			header: []string{"a", "b"},
			rows:   []want{{2, []string{"x\ny\"z,1\n"}, "line 3"}, {4, []string{"ok", "2"}, ""}},
		},
		{
			name: "unterminated quote runs to the end", in: "a,b\n1,2\n\"open,3\n4,5\n",
			header: []string{"a", "b"},
			rows:   []want{{2, []string{"1", "2"}, ""}, {3, []string{"open,3\n4,5\n"}, "1 fields"}},
		},
		{
			name: "semicolons", in: "a;b\n1,5;2\n", opts: ReadOptions{Comma: ';'},
			header: []string{"a", "b"}, rows: []want{{2, []string{"1,5", "2"}, ""}},
		},
		{
			name: "invalid utf-8 is rejected", in: "a,b\nJos\xe9,1\nok,2\n",
			header: []string{"a", "b"},
			rows:   []want{{2, []string{"Jos\xe9", "1"}, "not valid UTF-8 (byte 0xE9 at offset 3"}, {3, []string{"ok", "2"}, ""}},
		},
		{
			name: "latin-1", in: "a,b\nJos\xe9,1\n", opts: ReadOptions{Encoding: Latin1},
			header: []string{"a", "b"}, rows: []want{{2, []string{"José", "1"}, ""}},
		},
		{
			name: "windows-1252", in: "a,b\n\x80 5 \x93q\x94,1\n", opts: ReadOptions{Encoding: Windows1252},
			header: []string{"a", "b"}, rows: []want{{2, []string{"€ 5 “q”", "1"}, ""}},
		},
		{
			name: "field too large", in: "a,b\n" + strings.Repeat("x", 20) + ",1\nok,2\n", opts: ReadOptions{MaxFieldBytes: 10},
			header: []string{"a", "b"},
			rows:   []want{{2, []string{strings.Repeat("x", 20), "1"}, "a: the field is 20 bytes, limit is 10"}, {3, []string{"ok", "2"}, ""}},
		},
		{
			name: "row too large", in: "a,b\n\"" + strings.Repeat("x\n", 50) + "\",1\nok,2\n", opts: ReadOptions{MaxRowBytes: 30},
			header: []string{"a", "b"},
			rows:   []want{{2, nil, "larger than 30 bytes"}, {53, []string{"ok", "2"}, ""}},
		},
		{
			name: "formula guard removed", in: "a,b\n'=1+2,'-5\n",
			header: []string{"a", "b"}, rows: []want{{2, []string{"=1+2", "-5"}, ""}},
		},
		{
			name: "formula guard kept", in: "a,b\n'=1+2,x\n", opts: ReadOptions{KeepFormulaGuard: true},
			header: []string{"a", "b"}, rows: []want{{2, []string{"'=1+2", "x"}, ""}},
		},
		{
			name: "unnamed and repeated headers", in: " a ,,a\n1,2,3\n",
			header: []string{"a", "column_2", "a_3"}, rows: []want{{2, []string{"1", "2", "3"}, ""}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, rows := readAll(t, tt.in, tt.opts)
			assert.Equal(t, tt.header, h)
			require.Len(t, rows, len(tt.rows))
			for i, w := range tt.rows {
				r := rows[i]
				assert.Equal(t, w.line, r.Line, "row %d line", i)
				assert.Equal(t, w.raw, r.Raw, "row %d raw", i)
				if w.problem == "" {
					assert.Nil(t, r.Problem, "row %d", i)
				} else if assert.NotNil(t, r.Problem, "row %d", i) {
					assert.Contains(t, r.Problem.Error(), w.problem, "row %d", i)
				}
			}
		})
	}
}

func TestReaderHeaderErrors(t *testing.T) {
	for name, in := range map[string]string{"empty": "", "blank": "\n\r\n", "bad utf-8": "a,\xff\n"} {
		_, err := NewReader(strings.NewReader(in), ReadOptions{}).Header()
		assert.ErrorIs(t, err, ErrHeader, name)
	}
	_, err := NewReader(strings.NewReader("a"), ReadOptions{Comma: '"'}).Header()
	assert.ErrorIs(t, err, ErrOptions)
}

func TestReaderJSONL(t *testing.T) {
	in := "\ufeff{\"name\":\"Ada\",\"address\":{\"city\":\"London\"},\"n\":1.50,\"tags\":[\"a\",\"b\"]}\r\n\n" +
		"not json\n[1,2]\n{\"a\":1} {\"b\":2}\nnull\n{\"x\":\"\xff\"}\n{\"ok\":true}"
	h, rows := readAll(t, in, ReadOptions{Format: JSONL})
	assert.Nil(t, h)
	require.Len(t, rows, 7)
	assert.Nil(t, rows[0].Problem)
	assert.Equal(t, 1, rows[0].Line)
	assert.Equal(t, "Ada", rows[0].Get("name"))
	assert.Equal(t, "London", rows[0].Get("address.city"))
	assert.Equal(t, "1.50", rows[0].Get("n"), "numbers keep their text")
	assert.Equal(t, "a; b", rows[0].Get("tags"))
	assert.Equal(t, []string{"address", "n", "name", "tags"}, rows[0].Columns())
	for i, want := range []string{"not a JSON object", "not a JSON object", "text after the object", "null", "not valid UTF-8"} {
		r := rows[i+1]
		assert.Equal(t, i+3, r.Line)
		if assert.NotNil(t, r.Problem, "line %d", r.Line) {
			assert.Contains(t, r.Problem.Reason, want)
		}
	}
	assert.True(t, rows[6].Set("added", "v"))
	assert.Equal(t, "v", rows[6].Get("added"))
	assert.Equal(t, "true", rows[6].Get("ok"))
}

func TestRowSet(t *testing.T) {
	_, rows := readAll(t, "a,b\n1,2\n", ReadOptions{})
	r := rows[0]
	assert.True(t, r.Set("b", "3"))
	assert.Equal(t, "3", r.Get("b"))
	assert.False(t, r.Set("c", "4"), "a CSV row has only the header's columns")
	assert.Equal(t, "", r.Get("c"))
}

// TestFramingMatchesEncodingCSV checks, on many random inputs, that the
// framer splits rows exactly where encoding/csv reading the whole input
// would, so that rows, fields, errors and line numbers all agree.
func TestFramingMatchesEncodingCSV(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "b", ",", ",", "\"", "\"", "\n", "\r\n", "\r", " ", "\"\"", "é"}
	n := 10000
	if testing.Short() {
		n = 1000
	}
	for i := 0; i < n; i++ {
		var b strings.Builder
		b.WriteString("h1,h2\n")
		for j := rng.IntN(30); j > 0; j-- {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		in := b.String()
		for _, strict := range []bool{false, true} {
			type rec struct {
				fields []string
				err    bool
				line   int
			}
			var want []rec
			cr := csv.NewReader(strings.NewReader(in))
			cr.FieldsPerRecord, cr.LazyQuotes = -1, !strict
			for {
				f, err := cr.Read()
				if err == io.EOF {
					break
				}
				line := 0
				if err == nil {
					line, _ = cr.FieldPos(0)
				} else {
					f = nil // the fields of a row in error are not compared
				}
				var pe *csv.ParseError
				if err != nil && !errors.As(err, &pe) {
					t.Fatalf("%q: %v", in, err)
				}
				want = append(want, rec{f, err != nil, line})
			}
			rd := NewReader(strings.NewReader(in), ReadOptions{StrictQuotes: strict, KeepFormulaGuard: true})
			_, err := rd.Header()
			require.NoError(t, err)
			var got []rec
			for {
				row, err := rd.next()
				if err == io.EOF {
					break
				}
				require.NoError(t, err)
				parseErr := row.Problem != nil && !strings.Contains(row.Problem.Reason, "fields, the header has")
				line := row.Line
				fields := row.Raw
				if parseErr {
					line, fields = 0, nil
				}
				got = append(got, rec{fields, parseErr, line})
			}
			wantRows := want[1:]
			if len(wantRows) == 0 {
				wantRows = nil
			}
			require.Equal(t, wantRows, got, "input %q strict=%v", in, strict)
		}
	}
}

// TestHugeRowConstantMemory feeds a 256 MiB row and checks that it is
// rejected without being held in memory.
func TestHugeRowConstantMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 256 MiB")
	}
	const size = 256 << 20
	in := io.MultiReader(strings.NewReader("a,b\n\""), &repeatReader{b: 'x', n: size}, strings.NewReader("\",1\nok,2\n"))
	rd := NewReader(in, ReadOptions{})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var rows []*Row
	for row, err := range rd.Rows() {
		require.NoError(t, err)
		rows = append(rows, row)
	}
	runtime.ReadMemStats(&after)
	require.Len(t, rows, 2)
	require.NotNil(t, rows[0].Problem)
	assert.Contains(t, rows[0].Problem.Reason, "larger than")
	assert.Equal(t, []string{"ok", "2"}, rows[1].Raw)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(16<<20), "bytes allocated while reading a 256 MiB row")
}

type repeatReader struct {
	b byte
	n int
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	n := min(len(p), r.n)
	for i := range p[:n] {
		p[i] = r.b
	}
	r.n -= n
	return n, nil
}

func TestSkipTo(t *testing.T) {
	in := "a\n1\n2\n3\n"
	rd := NewReader(strings.NewReader(in), ReadOptions{})
	var ends []int64
	var crcs []uint32
	for row, err := range rd.Rows() {
		require.NoError(t, err)
		ends, crcs = append(ends, row.end), append(crcs, row.crc)
	}
	rd = NewReader(strings.NewReader(in), ReadOptions{})
	crc, err := rd.skipTo(ends[1])
	require.NoError(t, err)
	assert.Equal(t, crcs[1], crc)
	row, err := rd.next()
	require.NoError(t, err)
	assert.Equal(t, []string{"3"}, row.Raw)
	assert.Equal(t, 4, row.Line)

	_, err = NewReader(strings.NewReader(in), ReadOptions{}).skipTo(ends[1] + 1)
	assert.ErrorIs(t, err, ErrCheckpoint)
}
