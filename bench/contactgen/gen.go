// Package contactgen generates realistic contacts for benchmarks: a
// million of them in a few seconds, deterministic for a seed, with the
// skewed distributions of a real B2B marketing database (most contacts in
// a few countries, many subscribers and leads and fewer customers, more
// recent sign-ups than old ones, lead scores bunched in the middle).
//
// It imports package crm and the standard library only; the benchmarks of
// this module load its output into the CRM and into SQLite alike.
package contactgen

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/crmkit/crmkit/crm"
)

// Row is one generated contact and when it was created.
type Row struct {
	Contact crm.Contact
	// CreatedAt is when the contact signed up; rows come oldest first.
	CreatedAt time.Time
}

// weighted is a value with its relative frequency.
type weighted struct {
	v string
	w float64
}

// Countries: ISO codes with their share of contacts and a few cities.
var countries = []struct {
	code   string
	w      float64
	cities []string
}{
	{"US", 28, []string{"New York", "San Francisco", "Chicago", "Austin", "Boston", "Seattle"}},
	{"GB", 9, []string{"London", "Manchester", "Edinburgh", "Bristol"}},
	{"DE", 5.5, []string{"Berlin", "München", "Hamburg", "Köln", "Frankfurt am Main"}},
	{"FR", 5, []string{"Paris", "Lyon", "Marseille", "Toulouse"}},
	{"IN", 7, []string{"Bengaluru", "Mumbai", "Delhi", "Pune"}},
	{"CA", 4, []string{"Toronto", "Vancouver", "Montréal"}},
	{"AU", 3, []string{"Sydney", "Melbourne", "Brisbane"}},
	{"NL", 3, []string{"Amsterdam", "Rotterdam", "Utrecht"}},
	{"ES", 3, []string{"Madrid", "Barcelona", "Valencia"}},
	{"IT", 3, []string{"Milano", "Roma", "Torino"}},
	{"BR", 4, []string{"São Paulo", "Rio de Janeiro", "Curitiba"}},
	{"AT", 1.5, []string{"Wien", "Graz", "Linz"}},
	{"CH", 1.5, []string{"Zürich", "Genève", "Basel"}},
	{"SE", 1.5, []string{"Stockholm", "Göteborg"}},
	{"PL", 2, []string{"Warszawa", "Kraków", "Wrocław"}},
	{"JP", 2.5, []string{"Tokyo", "Osaka"}},
	{"MX", 2, []string{"Ciudad de México", "Guadalajara"}},
	{"SG", 1, []string{"Singapore"}},
	{"IE", 1, []string{"Dublin", "Cork"}},
	{"BE", 1, []string{"Bruxelles", "Antwerpen"}},
	{"DK", 1, []string{"København", "Aarhus"}},
	{"NO", 0.8, []string{"Oslo", "Bergen"}},
	{"FI", 0.7, []string{"Helsinki"}},
	{"PT", 1, []string{"Lisboa", "Porto"}},
	{"ZA", 1, []string{"Cape Town", "Johannesburg"}},
	{"", 8, nil}, // no country known
}

// Lifecycle stages (crm.DefaultLifecycleStages) by share: 15% customers.
var lifecycles = []weighted{
	{"subscriber", 30}, {"lead", 24}, {"marketing_qualified", 12}, {"sales_qualified", 7},
	{"opportunity", 5}, {"customer", 15}, {"evangelist", 2}, {"churned", 3}, {"", 2},
}

var sources = []weighted{
	{"web", 35}, {"paid_search", 20}, {"referral", 12}, {"social", 10}, {"event", 8},
	{"partner", 7}, {"cold_outreach", 5}, {"", 3},
}

var channels = []weighted{{"email", 60}, {"phone", 12}, {"chat", 6}, {"", 22}}

var tags = []weighted{
	{"newsletter", 30}, {"webinar", 12}, {"trial", 10}, {"enterprise", 6}, {"smb", 14},
	{"vip", 2}, {"partner", 3}, {"churn-risk", 4}, {"upsell", 5}, {"beta", 3}, {"gdpr-consent", 25},
	{"event-2025", 6}, {"event-2026", 5}, {"ebook", 9}, {"demo-requested", 4},
}

var firstNames = strings.Fields(`James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth
William Barbara Richard Susan Joseph Jessica Thomas Sarah Charles Karen Lukas Anna Leon Emma Finn Mia
Jonas Hannah Noah Sofia Louis Chloé Hugo Léa Arjun Priya Rahul Ananya Hiroshi Yuki Mateo Valentina
Lucas Camila Olivia Liam Ava Elias Zoë Søren Ingrid Łukasz Agnieszka João Beatriz`)

var lastNames = strings.Fields(`Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez
Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Martin Bernard Dubois Thomas Robert Richard
Sharma Patel Singh Kumar Tanaka Suzuki Sato Silva Santos Oliveira Rossi Russo Ferrari Nowak Kowalski
Andersen Nielsen Johansson Virtanen OBrien Murphy Kelly Novak Horvat`)

var titles = strings.Fields(`CEO CTO CFO COO Founder VP_Sales VP_Marketing Head_of_Growth Software_Engineer
Senior_Software_Engineer Data_Engineer Product_Manager Marketing_Manager Sales_Manager Account_Executive
Customer_Success_Manager Designer Analyst Consultant Operations_Manager Procurement_Lead IT_Director
Student Researcher`)

var domains = []string{"gmail.com", "outlook.com", "yahoo.com", "proton.me", "example.com", "example.org", "mail.example.net"}

func pick(r *rand.Rand, ws []weighted, total float64) string {
	x := r.Float64() * total
	for _, w := range ws {
		if x < w.w {
			return w.v
		}
		x -= w.w
	}
	return ws[len(ws)-1].v
}

func sum(ws []weighted) float64 {
	t := 0.0
	for _, w := range ws {
		t += w.w
	}
	return t
}

// Generate returns n contacts created over the three years before now,
// oldest first, deterministic for seed. Sign-ups grow over time (about 4%
// of them fall in the last 30 days). Each contact has a name, a unique
// email, a title, an address, a lifecycle stage, a lead source, a
// preferred channel for most, 0 to 4 tags, an owner, and the custom field
// "score" (a number from 0 to 100, lead scores bunched around 40), which
// the benchmarks define as an indexed number field.
func Generate(seed uint64, n int, now time.Time) []Row {
	r := rand.New(rand.NewPCG(seed, 0xc0ffee))
	lt, st, ct, tt := sum(lifecycles), sum(sources), sum(channels), sum(tags)
	ctot := 0.0
	for _, c := range countries {
		ctot += c.w
	}
	span := 3 * 365 * 24 * time.Hour
	rows := make([]Row, n)
	for i := range rows {
		// Growth: the density of sign-ups rises linearly to now, so the
		// age fraction u has density 2(1-u).
		u := 1 - math.Sqrt(r.Float64())
		created := now.Add(-time.Duration(u * float64(span))).Truncate(time.Second)
		first, last := firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
		c := crm.Contact{
			FirstName: first, LastName: last,
			Emails:           []string{fmt.Sprintf("%s.%s.%d@%s", asciiLower(first), asciiLower(last), i, domains[r.IntN(len(domains))])},
			Title:            strings.ReplaceAll(titles[r.IntN(len(titles))], "_", " "),
			Lifecycle:        pick(r, lifecycles, lt),
			LeadSource:       pick(r, sources, st),
			PreferredChannel: pick(r, channels, ct),
			OwnerID:          fmt.Sprintf("u_%02d", r.IntN(40)),
		}
		x := r.Float64() * ctot
		for _, co := range countries {
			if x < co.w {
				c.Address.Country = co.code
				if len(co.cities) > 0 {
					c.Address.City = co.cities[r.IntN(len(co.cities))]
				}
				break
			}
			x -= co.w
		}
		for k := r.IntN(5); len(c.Tags) < k; {
			if t := pick(r, tags, tt); !slices.Contains(c.Tags, t) {
				c.Tags = append(c.Tags, t)
			}
		}
		score := math.Round(math.Max(0, math.Min(100, 40+r.NormFloat64()*20)))
		c.Custom = crm.Custom{"score": score}
		rows[i] = Row{Contact: c, CreatedAt: created}
	}
	slices.SortStableFunc(rows, func(a, b Row) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return rows
}

// asciiLower lower-cases s and keeps only ASCII letters, for email local
// parts.
func asciiLower(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "x"
	}
	return b.String()
}

// ScoreField is the custom field definition Generate's scores need.
var ScoreField = crm.FieldDef{Object: crm.KindContact, Name: "score", Label: "Lead score", Type: crm.FieldNumber, Indexed: true}
