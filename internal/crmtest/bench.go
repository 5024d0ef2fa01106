package crmtest

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/badger"
)

// What the benchmarks of every package share: a fixed clock, a Badger
// store tuned like theirs, realistic contacts and a CPU meter.

// BenchEpoch is the fixed time the benchmarks' clocks start from.
var BenchEpoch = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// OpenBadger opens a Badger store in a temporary directory of b,
// without synced commits (the crm and raw runs pay the same either way),
// and returns it with its directory.
func OpenBadger(b testing.TB) (store.Store, string) {
	b.Helper()
	dir := b.TempDir()
	st, err := badger.Open(dir, badger.WithSyncWrites(false))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	return st, dir
}

// Realistic contact data.
var (
	benchFirstNames = []string{"Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Margaret", "Ken",
		"Radia", "Linus", "Frances", "John", "Sophie", "Tim", "Hedy", "Dennis", "Katherine", "Niklaus"}
	benchLastNames = []string{"Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Hamilton",
		"Thompson", "Perlman", "Torvalds", "Allen", "McCarthy", "Wilson", "Berners-Lee", "Lamarr",
		"Ritchie", "Johnson", "Wirth"}
	benchPlaces = []crm.Address{
		{City: "Berlin", Region: "Berlin", Country: "DE"},
		{City: "Lyon", Region: "Auvergne-Rhone-Alpes", Country: "FR"},
		{City: "Austin", Region: "Texas", Country: "US"},
		{City: "Leeds", Region: "West Yorkshire", Country: "GB"},
		{City: "Osaka", Region: "Osaka", Country: "JP"},
		{City: "Porto", Region: "Norte", Country: "PT"},
	}
	benchStreets   = []string{"Main Street", "Hauptstrasse", "Rue de la Republique", "High Street", "Avenida da Liberdade"}
	benchTitles    = []string{"CTO", "Head of Sales", "Software Engineer", "Procurement Manager", "CEO", "Office Manager"}
	benchTags      = []string{"vip", "newsletter", "trial", "partner", "churn-risk", "webinar-2026", "enterprise", "smb"}
	benchSources   = []string{"web", "referral", "event", "import", "ads"}
	benchLifecycle = []string{"subscriber", "lead", "marketing_qualified", "sales_qualified", "customer"}
)

// Contact returns the i-th contact of the benchmark data: a name, one
// email (a third of them two), a phone, a title, an address, one to three
// tags, a lifecycle stage, a lead source and an owner. Emails are unique
// by i.
func Contact(i int) crm.Contact {
	r := rand.New(rand.NewPCG(uint64(i), 0x5eed))
	first := benchFirstNames[r.IntN(len(benchFirstNames))]
	last := benchLastNames[r.IntN(len(benchLastNames))]
	addr := benchPlaces[r.IntN(len(benchPlaces))]
	addr.Street = strconv.Itoa(1+r.IntN(300)) + " " + benchStreets[r.IntN(len(benchStreets))]
	addr.PostalCode = fmt.Sprintf("%05d", r.IntN(100000))
	c := crm.Contact{
		FirstName: first,
		LastName:  last,
		Emails:    []string{fmt.Sprintf("%s.%s.%d@example.com", strings.ToLower(first), strings.ToLower(last), i)},
		Phones:    []crm.Phone{{Number: fmt.Sprintf("+49 30 %04d %04d", r.IntN(10000), i%10000), Label: "work"}},
		Title:     benchTitles[r.IntN(len(benchTitles))],
		Address:   addr,
		Lifecycle: benchLifecycle[r.IntN(len(benchLifecycle))],
		// The lead source and owner are what a sales team fills in.
		LeadSource: benchSources[r.IntN(len(benchSources))],
		OwnerID:    "u_" + strconv.Itoa(r.IntN(25)),
	}
	if r.IntN(3) == 0 {
		c.Emails = append(c.Emails, fmt.Sprintf("%c%s%d@mail.example.org", first[0]|0x20, strings.ToLower(last), i))
	}
	for n := 1 + r.IntN(3); len(c.Tags) < n; {
		if t := benchTags[r.IntN(len(benchTags))]; !slices.Contains(c.Tags, t) {
			c.Tags = append(c.Tags, t)
		}
	}
	return c
}

// Contacts returns the benchmark contacts from to from+n-1 (see Contact).
func Contacts(from, n int) []crm.Contact {
	out := make([]crm.Contact, n)
	for i := range out {
		out[i] = Contact(from + i)
	}
	return out
}

// ProcessCPU returns the user and system CPU time of the whole process
// (every thread), from /proc/self/stat, and false outside Linux. The file
// counts in clock ticks of 10 ms, so it suits spans of a second or more.
func ProcessCPU() (time.Duration, bool) {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0, false
	}
	// Field 2, the command name, is in parentheses and may hold spaces;
	// utime and stime are fields 14 and 15.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	user, err1 := strconv.ParseUint(f[11], 10, 64)
	sys, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(user+sys) * 10 * time.Millisecond, true
}
