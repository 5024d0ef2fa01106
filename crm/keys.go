package crm

import (
	"time"

	"github.com/crmkit/crmkit/store/tuple"
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
//	ws 'k' k str(id)             column projection of a live record (see columns.go)
//	ws 'x' ...                   dead letters (see dispatch.go)
//	ws 'A' ...                   crm/automation's Space (it predates spaces)
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
	tagColumn      byte = 'k'
)

// workspaceTags lists every tag of a workspace's keys, for the test that
// no two are the same.
var workspaceTags = []byte{
	tagRecord, tagUnique, tagIndex, tagHistory, tagTimeline, tagMeta, tagCount, tagSegment,
	tagCountDelta, tagOutbox, tagRecordEvent, tagVersion, tagDeadLetter, automationTag, tagSpace,
	tagColumn,
}

// key builds an encoded tuple (see package tuple). The zero value is an
// empty key.
type key []byte

func (k key) byte(b byte) key { return append(k, b) }

func (k key) str(s string) key { return key(tuple.Key(k).Str(s)) }

func (k key) uint(n uint64) key { return key(tuple.Key(k).Uint(n)) }

func (k key) int(n int64) key { return key(tuple.Key(k).Int(n)) }

func (k key) time(t time.Time) key { return key(tuple.Key(k).Time(t)) }

// errBadKey is the error of a key that does not decode.
var errBadKey = tuple.ErrMalformed

// wsKey returns the prefix of every key of workspace ws.
func wsKey(ws string) key { return key{nsWorkspace}.str(ws) }

// workspaceRegistryKey is where a workspace's description is stored.
func workspaceRegistryKey(ws string) key { return key{nsGlobal, 'w'}.str(ws) }
