package crmio_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crmio"
	"github.com/crmkit/crmkit/store/memory"
)

// FuzzImportCSV imports arbitrary bytes as CSV of companies, deals and
// contacts. It must never panic, every row read must be accounted for
// exactly once, the store must hold exactly the records reported created,
// and the rejects must write out as CSV.
func FuzzImportCSV(f *testing.F) {
	for _, name := range []string{"testdata/maven_accounts.csv", "testdata/maven_pipeline.csv"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(0))
		f.Add(b, uint8(0xff))
	}
	for _, s := range []string{
		"\ufeffname,domain,employees\r\nAcme,acme.com,\"1,200\"\r\nBad,-,x\r\n",
		"name,parent\nA,\nB,A\nC,Nope\n",
		"account,sector,revenue\n\"multi\nline\",technolgy,1100.04\n\"open,1\n",
		"a,b\n1\n1,2,3\n\"x\"y,2\n",
		"name,deal_stage,close_value,close_date\nD,Won,1054,2017-03-01\nE,Nope,12.345,31/12/2017\n",
		"first_name,email,tags\nAda,ADA@example.com,a|b\nAda,ada@example.com,\nJos\xe9,j@x.io,\n",
		"name\n" + string(bytes.Repeat([]byte("x"), 300)) + "\n",
		"",
		"\n\n",
		",,,\n,,,\n",
	} {
		f.Add([]byte(s), uint8(0))
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, data []byte, flags uint8) {
		ctx := context.Background()
		st := memory.New()
		defer st.Close()
		ws, err := crm.New(st).CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "fuzz"})
		if err != nil {
			t.Fatal(err)
		}
		opts := crmio.ImportOptions{
			StrictQuotes:  flags&1 != 0,
			BatchSize:     1 + int(flags>>4),
			MaxFieldBytes: 64, MaxRowBytes: 256,
		}
		if flags&2 != 0 {
			opts.Encoding = crmio.Latin1
		}
		if flags&4 != 0 {
			opts.Comma = ';'
		}
		if flags&8 != 0 {
			opts.UpsertBy = "id"
		}
		created := map[crm.Kind]int{}
		for _, object := range []crm.Kind{crmio.ObjectCompany, crmio.ObjectDeal, crmio.ObjectContact} {
			opts.Object = object
			res, err := crmio.Import(ctx, ws, bytes.NewReader(data), opts)
			if err != nil {
				// No header, or no column for the upsert key: the file is
				// refused as a whole, before anything is written.
				if errors.Is(err, crmio.ErrHeader) || errors.Is(err, crmio.ErrMapping) {
					continue
				}
				t.Fatalf("%s: %v", object, err)
			}
			created[object] = res.Created
			if res.Read != res.Created+res.Updated+res.Skipped+res.Rejected || res.Rejected != len(res.Rejects) {
				t.Fatalf("%s: rows not accounted for: %+v", object, res)
			}
			last := 0
			for _, r := range res.Rejects {
				if r.Line < 2 || r.Line < last || r.Reason == "" && r.Column == "" {
					t.Fatalf("%s: bad reject %+v after line %d", object, r, last)
				}
				last = r.Line
			}
			var out bytes.Buffer
			if err := res.WriteRejects(&out); err != nil {
				t.Fatal(err)
			}
			cr := csv.NewReader(&out)
			cr.FieldsPerRecord = -1
			n := -1
			for {
				if _, err := cr.Read(); err == io.EOF {
					break
				} else if err != nil {
					t.Fatalf("%s: rejects are not valid CSV: %v", object, err)
				}
				n++
			}
			if n != len(res.Rejects) {
				t.Fatalf("%s: %d rejects written, %d listed", object, n, len(res.Rejects))
			}
		}
		// Every record created is in the store.
		var companies, deals, contacts int
		for _, err := range ws.Companies().List(ctx, crm.ListOptions{}) {
			if err != nil {
				t.Fatal(err)
			}
			companies++
		}
		for _, err := range ws.Deals().List(ctx, crm.ListOptions{}) {
			if err != nil {
				t.Fatal(err)
			}
			deals++
		}
		for _, err := range ws.Contacts().List(ctx, crm.ListOptions{}) {
			if err != nil {
				t.Fatal(err)
			}
			contacts++
		}
		if companies != created[crmio.ObjectCompany] || deals != created[crmio.ObjectDeal] || contacts != created[crmio.ObjectContact] {
			t.Fatalf("stored %d companies, %d deals, %d contacts; created %v", companies, deals, contacts, created)
		}
	})
}
