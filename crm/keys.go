package crm

import (
	"encoding/binary"
	"errors"
	"time"
)

// Keys are tuples encoded so that byte order equals tuple order, the way
// FoundationDB's tuple layer does it: strings are escaped and terminated, so
// no string is a prefix of a different one; integers are big-endian with the
// sign bit flipped. Every key of a workspace starts with the same prefix, so
// a workspace is one contiguous range and can never see another's keys.
//
// Layout (ws = workspace prefix, k = object kind byte):
//
//	0x03 uvarint(space)          workspace prefix: the workspace's key space
//	                             (0x01 str(workspace) in older stores)
//	ws 'r' k str(id)             record
//	ws 'u' k str(index) values   unique index entry -> record id
//	ws 'i' k str(index) values str(id)   index entry (field indexes: see index.go)
//	ws 'i' 'a' str("link") k str(id) str(type) time str(activityID)
//	                             activity of a record, by type and time
//	ws 'n' k str(index) values   count of live records with values -> int64
//	ws 'n' k str("*")            count of a kind's live records
//	ws 's' str(segment) str(id)  member of a static segment
//	ws 'n' 's' str(segment)      count of a static segment's live members
//	ws 'h' k str(id) str(changeID)       history entry
//	ws 't' k str(id) time str(entryID)   timeline entry of a record
//	ws 'm' str(name)             workspace metadata
//	ws 'N' ...                   counter deltas (see index_count.go)
//	ws 'o' uint64(seq)           outbox event (see outbox.go)
//	ws 'e' k str(id) uint64(seq) event of a record, in older stores
//	ws 'v' k str(id) uint64(version)     superseded version of a record
//	ws 'x' ...                   dead letters (see dispatch.go)
//	ws 'A' ...                   automation's state (see automation.go)
//	ws 'X' str(space) key        a package's own keys (see Space)
//	0x02 'w' str(workspace)      workspace registry -> wsEntry
//	0x02 'n' str("space")        last key space allocated
//	0x02 'p' uvarint(space) str(workspace)   key space queued for purging
const (
	nsWorkspace byte = 0x01 // workspaces of stores written before key spaces
	nsGlobal    byte = 0x02
	nsSpace     byte = 0x03 // key spaces (see registry.go)

	tagRecord   byte = 'r'
	tagUnique   byte = 'u'
	tagIndex    byte = 'i'
	tagHistory  byte = 'h'
	tagTimeline byte = 't'
	tagMeta     byte = 'm'
	tagCount    byte = 'n'
	tagSegment  byte = 's'

	tagCountDelta  byte = 'N'
	tagOutbox      byte = 'o'
	tagRecordEvent byte = 'e'
	tagVersion     byte = 'v'
	tagDeadLetter  byte = 'x'
	automationTag  byte = 'A'
	tagSpace       byte = 'X'
)

// workspaceTags lists every tag of a workspace's keys, for the test that
// no two are the same.
var workspaceTags = []byte{
	tagRecord, tagUnique, tagIndex, tagHistory, tagTimeline, tagMeta, tagCount, tagSegment,
	tagCountDelta, tagOutbox, tagRecordEvent, tagVersion, tagDeadLetter, automationTag, tagSpace,
}

// key builds an encoded tuple. The zero value is an empty key.
type key []byte

func (k key) byte(b byte) key { return append(k, b) }

// str appends s escaped (0x00 -> 0x00 0xff) and terminated by 0x00 0x01.
func (k key) str(s string) key {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			k = append(k, 0, 0xff)
			continue
		}
		k = append(k, s[i])
	}
	return append(k, 0, 1)
}

func (k key) uint(n uint64) key { return binary.BigEndian.AppendUint64(k, n) }

func (k key) int(n int64) key { return k.uint(uint64(n) ^ (1 << 63)) }

func (k key) time(t time.Time) key { return k.int(t.UnixNano()) }

var errBadKey = errors.New("crm: malformed key")

// keyReader decodes a tuple written by key.
type keyReader struct {
	b   []byte
	err error
}

func (r *keyReader) byte() byte {
	if r.err != nil || len(r.b) < 1 {
		r.err = errBadKey
		return 0
	}
	b := r.b[0]
	r.b = r.b[1:]
	return b
}

func (r *keyReader) str() string {
	if r.err != nil {
		return ""
	}
	out := make([]byte, 0, 32)
	for i := 0; i < len(r.b); i++ {
		if r.b[i] != 0 {
			out = append(out, r.b[i])
			continue
		}
		if i+1 >= len(r.b) {
			break
		}
		switch r.b[i+1] {
		case 0xff:
			out = append(out, 0)
			i++
		case 1:
			r.b = r.b[i+2:]
			return string(out)
		default:
			r.err = errBadKey
			return ""
		}
	}
	r.err = errBadKey
	return ""
}

func (r *keyReader) uint() uint64 {
	if r.err != nil || len(r.b) < 8 {
		r.err = errBadKey
		return 0
	}
	n := binary.BigEndian.Uint64(r.b)
	r.b = r.b[8:]
	return n
}

func (r *keyReader) int() int64 { return int64(r.uint() ^ (1 << 63)) }

func (r *keyReader) time() time.Time { return time.Unix(0, r.int()).UTC() }

// wsKey returns the prefix of every key of workspace ws.
func wsKey(ws string) key { return key{nsWorkspace}.str(ws) }

// workspaceRegistryKey is where a workspace's description is stored.
func workspaceRegistryKey(ws string) key { return key{nsGlobal, 'w'}.str(ws) }
