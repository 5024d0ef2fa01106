package crm

import (
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPartialDecode checks that a partial codec reading every key decodes
// records exactly as the full decoder does, and one reading some keys
// leaves the others zero.
func TestPartialDecode(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 30, 15, 123456789, time.UTC)
	long := string(make([]byte, 70000)) // a str32
	records := []any{
		&Contact{
			Meta:      Meta{ID: "con_1", Version: 3, CreatedAt: at, UpdatedAt: at.Add(time.Hour), CreatedBy: "u", DeletedAt: at.Add(2 * time.Hour)},
			FirstName: "Zoë", LastName: long, Emails: []string{"a@example.com", "b@example.com"},
			Phones:  []Phone{{Number: "+49 30 1", Label: "work"}},
			Address: Address{City: "München", Country: "DE"}, Birthday: Date{1990, time.May, 17},
			Tags: []string{"vip"}, ExternalIDs: map[string]string{"hubspot": "42"},
			Companies: []CompanyRole{{CompanyID: "com_1", Role: "cto"}},
			Custom: Custom{"score": 12.5, "tier": "gold", "vip": true, "rev": Money{Amount: 1 << 60, Currency: "EUR"},
				"since": Date{2020, time.January, 2}, "langs": []string{"de", "en"}, "n": float64(-7)},
		},
		&Company{Meta: Meta{ID: "com_1", CreatedAt: time.Unix(1<<33, 5).UTC()}, Name: "Acme", Employees: -1 << 40, AnnualRevenue: Money{Amount: 300, Currency: "USD"}},
		&Deal{Meta: Meta{ID: "deal_1", CreatedAt: time.Unix(12, 0).UTC()}, Name: "Big", Amount: Money{Amount: 5}, Status: StatusOpen,
			StageHistory: []StageEntry{{PipelineID: "p", StageID: "s", EnteredAt: at}}, ClosedAt: at},
	}
	for _, r := range records {
		typ := reflect.TypeOf(r).Elem()
		b, err := encode(r)
		require.NoError(t, err)
		var all []string
		for i := 0; i < typ.NumField(); i++ {
			all = append(all, fieldName(typ.Field(i)))
		}
		for _, n := range []string{"version", "created_at", "updated_at", "created_by", "updated_by"} {
			all = append(all, n)
		}
		got, err := partialFor(typ, all).decode(b)
		require.NoError(t, err)
		want := reflect.New(typ).Interface()
		require.NoError(t, decode(b, want))
		assert.Equal(t, want, got, "%T", r)

		some, err := partialFor(typ, []string{"name"}).decode(b)
		require.NoError(t, err)
		assert.Equal(t, MetaOf(r).ID, MetaOf(some).ID)
		assert.True(t, MetaOf(some).CreatedAt.IsZero(), "stamps the filter does not read stay zero")
	}
	c, err := partialFor(reflect.TypeFor[Contact](), []string{"first_name"}).decode(mustEncode(t, records[0]))
	require.NoError(t, err)
	assert.Equal(t, "Zoë", c.(*Contact).FirstName)
	assert.Empty(t, c.(*Contact).LastName)
	assert.Nil(t, c.(*Contact).Custom)

	for _, bad := range [][]byte{nil, {recordFormat}, {recordFormat, 0x81}, {recordFormat, 0x81, 0xa1, 'a', 0xc1}, {recordFormat, 0x81, 0xa1, 'a', 0xdb, 0xff, 0xff, 0xff, 0xff}} {
		_, err := partialFor(reflect.TypeFor[Contact](), nil).decode(bad)
		assert.Error(t, err, "%x", bad)
	}
}

func mustEncode(t *testing.T, r any) []byte {
	b, err := encode(r)
	require.NoError(t, err)
	return b
}
