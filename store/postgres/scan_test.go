package postgres_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/postgres"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// scanKeys are binary keys around the edges of byte-wise order.
var scanKeys = [][]byte{
	{0x00}, {0x00, 0x00}, {0x00, 0xff}, {0x01}, []byte("a"), []byte("a\x00"), []byte("a\x00\x00"),
	[]byte("a\x7f"), []byte("a\x80"), []byte("a\xff"), []byte("a\xff\xff"), []byte("b"),
	{0x7f}, {0x80}, {0xfe, 0xff}, {0xff}, {0xff, 0x00}, {0xff, 0xff}, {0xff, 0xff, 0xff},
}

// model returns the keys of scanKeys in r, in r's order, computed with
// bytes.Compare.
func model(r store.Range) [][]byte {
	lower, upper := r.Bounds()
	var out [][]byte
	for _, k := range scanKeys {
		if bytes.Compare(k, lower) >= 0 && (len(upper) == 0 || bytes.Compare(k, upper) < 0) {
			out = append(out, k)
		}
	}
	slices.SortFunc(out, bytes.Compare)
	if r.Reverse {
		slices.Reverse(out)
	}
	return out
}

// TestScanPaging checks scans across page boundaries, with page sizes from
// one entry up, against a byte-wise model: every range of the binary keys,
// forward and reverse, with values and keys only.
func TestScanPaging(t *testing.T) {
	testDSN(t)
	ranges := []store.Range{{}}
	for _, a := range append(scanKeys, []byte("a\x00\x01"), []byte{0xff, 0xfe}) {
		ranges = append(ranges, store.Range{Prefix: a}, store.Range{Start: a}, store.Range{End: a})
		for _, b := range scanKeys[len(scanKeys)/2:] {
			ranges = append(ranges, store.Range{Start: a, End: b})
		}
	}
	for _, pageSize := range []int{1, 2, 3, 1024} {
		t.Run(fmt.Sprintf("page size %d", pageSize), func(t *testing.T) {
			s := openTest(t, postgres.WithPageSize(pageSize))
			ctx := context.Background()
			require.NoError(t, s.Batch(ctx, func(w store.Writer) error {
				for _, k := range scanKeys {
					if err := w.Set(k, append([]byte("v"), k...)); err != nil {
						return err
					}
				}
				return nil
			}))
			err := s.View(ctx, func(tx store.Tx) error {
				for _, r := range ranges {
					for _, mode := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
						r.Reverse, r.KeysOnly = mode[0], mode[1]
						var got [][]byte
						for e, err := range tx.Scan(r) {
							if err != nil {
								return err
							}
							got = append(got, bytes.Clone(e.Key))
							if r.KeysOnly {
								assert.Nil(t, e.Value)
							} else {
								assert.Equal(t, append([]byte("v"), e.Key...), e.Value)
							}
						}
						assert.Equal(t, model(r), got, "range %+v", r)
					}
				}
				return nil
			})
			require.NoError(t, err)
		})
	}
}

// TestScanLargeValues scans values large enough that pages must shrink
// below the page size.
func TestScanLargeValues(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	const n, size = 24, 1 << 20
	value := func(i int) []byte { return bytes.Repeat([]byte{byte(i)}, size) }
	require.NoError(t, s.Batch(ctx, func(w store.Writer) error {
		for i := range n {
			if err := w.Set(fmt.Appendf(nil, "big/%02d", i), value(i)); err != nil {
				return err
			}
		}
		return nil
	}))
	for _, reverse := range []bool{false, true} {
		i := 0
		require.NoError(t, s.View(ctx, func(tx store.Tx) error {
			for e, err := range tx.Scan(store.Range{Prefix: []byte("big/"), Reverse: reverse}) {
				if err != nil {
					return err
				}
				want := i
				if reverse {
					want = n - 1 - i
				}
				assert.Equal(t, fmt.Sprintf("big/%02d", want), string(e.Key))
				assert.True(t, bytes.Equal(value(want), e.Value), "value of %s", e.Key)
				i++
			}
			return nil
		}))
		assert.Equal(t, n, i, "reverse=%v", reverse)
	}
}

// TestScanWritesDuringScan writes inside a paged scan's loop: keys set
// ahead of the scan position are yielded, keys deleted ahead are not, and
// keys behind it do not repeat.
func TestScanWritesDuringScan(t *testing.T) {
	s := openTest(t, postgres.WithPageSize(2))
	ctx := context.Background()
	put(t, s, "k/1", "1", "k/3", "3", "k/5", "5", "k/7", "7")
	var got []string
	require.NoError(t, s.Update(ctx, func(tx store.Tx) error {
		for e, err := range tx.Scan(store.Range{Prefix: []byte("k/")}) {
			if err != nil {
				return err
			}
			got = append(got, string(e.Key))
			if string(e.Key) == "k/1" {
				for _, op := range []error{
					tx.Set([]byte("k/0"), []byte("behind")),
					tx.Set([]byte("k/6"), []byte("ahead")),
					tx.Delete([]byte("k/7")),
				} {
					if op != nil {
						return op
					}
				}
			}
		}
		return nil
	}))
	// Page one (k/1, k/3) was fetched before the writes.
	assert.Equal(t, []string{"k/1", "k/3", "k/5", "k/6"}, got)
}

// TestBatchOrder checks that a Batch applies sets and deletes of one key in
// order, within one chunk and across chunks.
func TestBatchOrder(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	put(t, s, "b", "old", "d", "old")
	require.NoError(t, s.Batch(ctx, func(w store.Writer) error {
		steps := []struct {
			del  bool
			k, v string
		}{
			{false, "a", "1"}, {true, "a", ""}, // set, then delete
			{true, "b", ""}, {false, "b", "2"}, // delete, then set
			{false, "c", "1"}, {true, "c", ""}, {false, "c", "3"},
			{false, "f/00000", "x"},
		}
		for _, st := range steps {
			var err error
			if st.del {
				err = w.Delete([]byte(st.k))
			} else {
				err = w.Set([]byte(st.k), []byte(st.v))
			}
			if err != nil {
				return err
			}
		}
		// Enough keys to commit the first chunk.
		for i := 1; i <= 20_000; i++ {
			if err := w.Set(fmt.Appendf(nil, "f/%05d", i), []byte("x")); err != nil {
				return err
			}
		}
		// Writes in a later chunk to keys of the first.
		if err := w.Delete([]byte("f/00000")); err != nil {
			return err
		}
		if err := w.Delete([]byte("b")); err != nil {
			return err
		}
		if err := w.Set([]byte("b"), []byte("4")); err != nil {
			return err
		}
		return w.Delete([]byte("d"))
	}))
	assert.Equal(t, "<missing>", value(t, s, "a"))
	assert.Equal(t, "4", value(t, s, "b"))
	assert.Equal(t, "3", value(t, s, "c"))
	assert.Equal(t, "<missing>", value(t, s, "d"))
	assert.Equal(t, "<missing>", value(t, s, "f/00000"))
	assert.Equal(t, "x", value(t, s, "f/20000"))
}
