package postgres

import (
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWriteSetKeepsLastWrite checks that the buffer leaves what applying
// the writes in order would: the last write of each key wins.
func TestWriteSetKeepsLastWrite(t *testing.T) {
	var w writeSet
	w.add([]byte("a"), []byte("1"), false)
	w.add([]byte("a"), nil, true) // set, then delete
	w.add([]byte("b"), nil, true)
	w.add([]byte("b"), nil, false) // delete, then set (nil value)
	w.add([]byte("c"), []byte("1"), false)
	w.add([]byte("c"), []byte("22"), false)
	require.Equal(t, 3, w.len())

	a, ok := w.lookup([]byte("a"))
	require.True(t, ok)
	assert.True(t, a.del)
	b, ok := w.lookup([]byte("b"))
	require.True(t, ok)
	assert.False(t, b.del)
	assert.NotNil(t, b.value, "a nil value is stored as an empty one, never NULL")
	c, _ := w.lookup([]byte("c"))
	assert.Equal(t, "22", string(c.value))
	assert.Equal(t, 3+len("22"), w.size)
	_, ok = w.lookup([]byte("d"))
	assert.False(t, ok)

	st := newStatements(newTables("s", "p_"))
	var batch pgx.Batch
	w.drain(&batch, &st)
	require.Len(t, batch.QueuedQueries, 2)
	assert.Equal(t, st.upsert, batch.QueuedQueries[0].SQL)
	assert.Equal(t, []any{[][]byte{[]byte("b"), []byte("c")}, [][]byte{{}, []byte("22")}}, batch.QueuedQueries[0].Arguments)
	assert.Equal(t, st.delete, batch.QueuedQueries[1].SQL)
	assert.Equal(t, []any{[][]byte{[]byte("a")}}, batch.QueuedQueries[1].Arguments)
	assert.Equal(t, 0, w.len(), "drain empties the set")
	assert.Zero(t, w.size)
}

// TestWriteSetCopies checks that the buffer owns its bytes.
func TestWriteSetCopies(t *testing.T) {
	var w writeSet
	k, v := []byte("key"), []byte("value")
	w.add(k, v, false)
	copy(k, "xxx")
	copy(v, "yyyyy")
	got, ok := w.lookup([]byte("key"))
	require.True(t, ok)
	assert.Equal(t, "key", string(got.key))
	assert.Equal(t, "value", string(got.value))
}

func TestWriteSetFull(t *testing.T) {
	var w writeSet
	for i := range flushKeys - 1 {
		w.add([]byte{byte(i >> 8), byte(i)}, nil, false)
	}
	assert.False(t, w.full())
	w.add([]byte("last"), nil, false)
	assert.True(t, w.full(), "by keys")
	w.reset()
	w.add([]byte("big"), make([]byte, flushBytes), false)
	assert.True(t, w.full(), "by bytes")
}

func TestScanSQL(t *testing.T) {
	cases := []struct {
		shape scanShape
		want  string
	}{
		{scanShape{}, `SELECT key, value FROM "s"."p_kv" ORDER BY key LIMIT $1`},
		{scanShape{lower: lowerInclusive, upper: true}, `SELECT key, value FROM "s"."p_kv" WHERE key >= $1 AND key < $2 ORDER BY key LIMIT $3`},
		{scanShape{lower: lowerExclusive, keysOnly: true}, `SELECT key FROM "s"."p_kv" WHERE key > $1 ORDER BY key LIMIT $2`},
		{scanShape{upper: true, reverse: true}, `SELECT key, value FROM "s"."p_kv" WHERE key < $1 ORDER BY key DESC LIMIT $2`},
	}
	st := newStatements(newTables("s", "p_"))
	assert.Len(t, st.scan, 24)
	for _, tc := range cases {
		assert.Equal(t, tc.want, st.scan[tc.shape])
	}
}
