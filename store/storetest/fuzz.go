package storetest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/crmkit/crmkit/store"
	"github.com/stretchr/testify/assert"
)

// fuzzKeys are the keys FuzzScan stores: binary bytes, keys that are
// prefixes of each other, and keys of MaxKeySize.
func fuzzKeys() map[string]string {
	data := map[string]string{}
	for _, k := range modelKeys {
		data[k] = "v" + k
	}
	long := strings.Repeat("k", store.MaxKeySize)
	for _, k := range []string{long, long[:store.MaxKeySize-1] + "\x00", long[:store.MaxKeySize-1] + "\xff", strings.Repeat("\xff", store.MaxKeySize), long[:300]} {
		data[k] = "long"
	}
	return data
}

// FuzzScan is a fuzz target for a backend's scans: each input is a
// range's prefix, start and end (of any length, longer than MaxKeySize
// too) and its direction, scanned over fuzzKeys in a View and in an
// Update with writes of its own pending; every scan must match the model.
// Call it from a Fuzz function of the backend's tests:
//
//	func FuzzScan(f *testing.F) { storetest.FuzzScan(f, backend) }
func FuzzScan(f *testing.F, b Backend) {
	for _, seed := range []struct {
		prefix, start, end string
		reverse            bool
	}{
		{"", "", "", false},
		{"a", "", "", true},
		{"", "a\x00", "b", true},
		{"", "", strings.Repeat("k", store.MaxKeySize+1), true},
		{"k", strings.Repeat("k", 3*store.MaxKeySize), "", false},
		{strings.Repeat("\xff", store.MaxKeySize+2), "", "", true},
		{"", "\x00", strings.Repeat("\xff", store.MaxKeySize+1), true},
	} {
		f.Add([]byte(seed.prefix), []byte(seed.start), []byte(seed.end), seed.reverse)
	}
	s := open(f, b)
	data := fuzzKeys()
	var kvs []kv
	for k, v := range data {
		kvs = append(kvs, kv{k, v})
	}
	put(f, s, kvs...)
	f.Fuzz(func(t *testing.T, prefix, start, end []byte, reverse bool) {
		r := store.Range{Prefix: prefix, Start: start, End: end, Reverse: reverse}
		assert.Equal(t, modelScan(data, r), scanAll(t, s, r), "%s", describe(r))
		pending := copyMap(data)
		_ = s.Update(t.Context(), func(tx store.Tx) error {
			for _, k := range [][]byte{start, end, prefix} {
				if len(k) == 0 || len(k) > store.MaxKeySize {
					continue
				}
				if err := tx.Set(k, []byte("new")); err != nil {
					t.Fatal(err)
				}
				pending[string(k)] = "new"
			}
			got, err := scanTx(tx, r)
			assert.NoError(t, err)
			assert.Equal(t, modelScan(pending, r), got, "pending writes, %s", describe(r))
			return errSentinel // leave the store as it was
		})
	})
}

// describe names a range's bounds briefly, for failure messages.
func describe(r store.Range) string {
	short := func(b []byte) string {
		if len(b) > 16 {
			return fmt.Sprintf("%q… (%d bytes)", b[:16], len(b))
		}
		return fmt.Sprintf("%q", b)
	}
	return fmt.Sprintf("prefix %s, start %s, end %s, reverse %v", short(r.Prefix), short(r.Start), short(r.End), r.Reverse)
}
