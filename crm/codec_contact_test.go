package crm

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vmihailenco/msgpack/v5"
)

// plainContact is Contact decoded by msgpack's reflection, as every other
// record is.
type plainContact Contact

// fill sets every exported field reachable from v to a random non-zero
// value, so a field added to Contact and forgotten in its decoder shows.
func fill(r *rand.Rand, v reflect.Value) {
	switch v.Type() {
	case reflect.TypeFor[time.Time]():
		v.Set(reflect.ValueOf(time.Unix(r.Int64N(4e9), r.Int64N(1e9)).UTC().Round(time.Microsecond)))
		return
	case reflect.TypeFor[Date]():
		v.Set(reflect.ValueOf(Date{1950 + r.IntN(70), time.Month(1 + r.IntN(12)), 1 + r.IntN(28)}))
		return
	case reflect.TypeFor[Custom]():
		v.Set(reflect.ValueOf(Custom{"n": float64(r.IntN(100)), "s": fmt.Sprint("v", r.IntN(9)), "b": true}))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d", r.IntN(1000)))
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(1 + r.Int64N(1000))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(r, v.Field(i))
			}
		}
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1+r.IntN(3), 3)
		for i := range s.Len() {
			fill(r, s.Index(i))
		}
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for range 1 + r.IntN(3) {
			k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			fill(r, k)
			fill(r, e)
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	default:
		panic(fmt.Sprintf("fill: %s", v.Type()))
	}
}

func TestContactDecoderMatchesReflection(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		var c Contact
		fill(r, reflect.ValueOf(&c).Elem())
		if i%5 == 0 {
			c = Contact{Meta: Meta{ID: "con_1"}} // mostly empty: omitempty fields absent
		}
		b, err := encode(&c)
		require.NoError(t, err)
		var fast Contact
		require.NoError(t, decode(b, &fast))
		var slow plainContact
		require.NoError(t, msgpack.Unmarshal(b[1:], &slow))
		utcTimes(reflect.ValueOf(&slow))
		assert.Equal(t, Contact(slow), fast)
		assert.Equal(t, c.Emails, fast.Emails)
		assert.True(t, c.CreatedAt.Equal(fast.CreatedAt))
	}
}

func TestContactDecoderSkipsUnknownFields(t *testing.T) {
	b, err := msgpack.Marshal(map[string]any{"id": "con_1", "future_field": []any{1, "x", map[string]any{"a": 1}}, "first_name": "Ada"})
	require.NoError(t, err)
	var c Contact
	require.NoError(t, decode(append([]byte{recordFormat}, b...), &c))
	assert.Equal(t, "con_1", c.ID)
	assert.Equal(t, "Ada", c.FirstName)
}

func FuzzContactDecoder(f *testing.F) {
	c := Contact{Meta: Meta{ID: "con_1", Version: 2, CreatedAt: time.Unix(1e9, 0)}, FirstName: "Ada", Emails: []string{"a@b.c"}, Custom: Custom{"x": 1.0}}
	b, _ := encode(&c)
	f.Add(b[1:])
	f.Add([]byte{0x81, 0xa2, 'i', 'd', 0xc0})
	f.Fuzz(func(t *testing.T, data []byte) {
		var c Contact
		if decodeContact(data, &c) != nil {
			return
		}
		// What it accepts, reflection reads the same way.
		var p plainContact
		if msgpack.Unmarshal(data, &p) == nil {
			utcTimes(reflect.ValueOf(&p))
			assert.Equal(t, c.ID, p.ID)
			assert.Equal(t, c.Emails, p.Emails)
		}
	})
}

func BenchmarkContactDecode(b *testing.B) {
	c := Contact{
		Meta:      Meta{ID: "con_06eavhmtg1z56sa5", Version: 3, CreatedAt: time.Unix(1.7e9, 0).UTC(), UpdatedAt: time.Unix(1.71e9, 0).UTC(), CreatedBy: "u_7", UpdatedBy: "u_7"},
		FirstName: "Ada", LastName: "Lovelace", Emails: []string{"ada.lovelace.17@example.com"},
		Phones: []Phone{{Number: "+44 20 7946 0958", Label: "work"}}, Title: "Head of Data",
		Address: Address{City: "London", Country: "GB"}, Lifecycle: "lead", LeadSource: "web", OwnerID: "u_12",
		Tags: []string{"vip", "newsletter"}, Custom: Custom{"score": 42.0},
	}
	raw, err := encode(&c)
	require.NoError(b, err)
	var slowNs float64
	b.Run("reflection", func(b *testing.B) {
		for range b.N {
			var p plainContact
			if err := msgpack.Unmarshal(raw[1:], &p); err != nil {
				b.Fatal(err)
			}
			utcTimes(reflect.ValueOf(&p))
		}
		slowNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	b.Run("contact", func(b *testing.B) {
		for range b.N {
			var c Contact
			if err := decode(raw, &c); err != nil {
				b.Fatal(err)
			}
		}
		if slowNs > 0 {
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/slowNs, "ratio")
		}
	})
}
