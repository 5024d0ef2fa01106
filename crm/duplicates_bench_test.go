package crm_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/stretchr/testify/require"
)

// dupFixture fills a workspace with n contacts at n/40 companies, one in
// twenty of them a re-entered copy of an earlier contact (another Gmail
// spelling, the phone written nationally, or a typo in the name).
func dupFixture(b *testing.B, e *env, n int) int {
	b.Helper()
	var cos []crm.Company
	for i := range max(1, n/40) {
		cos = append(cos, crm.Company{Name: fmt.Sprintf("Company %d", i)})
	}
	cos, err := e.ws.Companies().CreateMany(e.ctx, cos)
	require.NoError(b, err)
	cs := make([]crm.Contact, 0, n)
	dups := 0
	for i := range n {
		co := []crm.CompanyRole{{CompanyID: cos[i%len(cos)].ID}}
		c := crm.Contact{
			FirstName: fmt.Sprintf("First%d", i), LastName: fmt.Sprintf("Last%d", i/3),
			Emails:    []string{fmt.Sprintf("first.last%d@gmail.com", i)},
			Phones:    []crm.Phone{{Number: fmt.Sprintf("+49 30 %d", 20000000+i)}},
			Companies: co,
		}
		if i%20 == 19 {
			dups++
			orig := cs[i-7]
			switch i % 3 {
			case 0:
				c.Emails = []string{"firstlast" + orig.Emails[0][len("first.last"):len(orig.Emails[0])-len("@gmail.com")] + "+x@gmail.com"}
			case 1:
				c.Phones = []crm.Phone{{Number: "030 " + orig.Phones[0].Number[len("+49 30 "):], Region: "DE"}}
			case 2:
				c.FirstName, c.LastName, c.Companies = orig.FirstName+"x", orig.LastName, orig.Companies
			}
		}
		cs = append(cs, c)
	}
	for start := 0; start < n; start += 5000 {
		_, err := e.ws.Contacts().CreateMany(e.ctx, cs[start:min(n, start+5000)])
		require.NoError(b, err)
	}
	return dups
}

// BenchmarkFindDuplicates runs duplicate detection over a workspace and, as
// the baseline, a plain List of the same contacts: the read that any
// detection needs. ratio is detection time over list time; it stays flat
// as the workspace grows because contacts are compared only within their
// blocks, never all pairs.
func BenchmarkFindDuplicates(b *testing.B) {
	for _, n := range []int{10_000, 40_000} {
		b.Run(fmt.Sprintf("contacts=%d", n), func(b *testing.B) {
			e := setup(b)
			planted := dupFixture(b, e, n)
			var list, find time.Duration
			pairs := 0
			for b.Loop() {
				start := time.Now()
				for _, err := range e.ws.Contacts().List(e.ctx, crm.ListOptions{}) {
					require.NoError(b, err)
				}
				list += time.Since(start)
				start = time.Now()
				pairs = 0
				for _, err := range e.ws.Contacts().FindDuplicates(e.ctx, crm.DuplicateOptions{}) {
					require.NoError(b, err)
					pairs++
				}
				find += time.Since(start)
			}
			b.ReportMetric(float64(find.Nanoseconds())/float64(b.N*n), "ns/contact")
			b.ReportMetric(float64(n)*float64(b.N)/find.Seconds(), "contacts/s")
			b.ReportMetric(float64(find)/float64(list), "ratio")
			b.ReportMetric(float64(pairs), "pairs")
			b.ReportMetric(float64(planted), "planted")
		})
	}
}
