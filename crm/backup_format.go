package crm

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"time"

	"github.com/crmkit/crmkit/store"
)

// The backup file format, version 1. A file is
//
//	"crmkitbk" uint16(version)      magic and format version, big-endian
//	frame 'H'                       header: BackupHeader as JSON
//	per workspace, in ID order:
//	  frame 'W'                     uvarint len, ID, uvarint len, registry value
//	  frame 'B' ...                 blocks: uvarint count, then per entry
//	                                uvarint len, key, uvarint len, value
//	  frame 'E'                     uvarint keys, SHA-256 of the blocks' payloads
//	frame 'Z'                       uvarint workspaces, uvarint keys
//
// and every frame is
//
//	type byte, uvarint payload length, payload, CRC-32C of type and payload
//
// Keys in blocks are relative to the workspace's prefix, so a backup can
// only ever write inside the workspaces it names, and they ascend strictly
// within a workspace. A block holds about a megabyte; a frame is never
// larger than maxFrame, so a reader's memory is bounded whatever the file
// says.
const (
	backupMagic   = "crmkitbk"
	backupVersion = 1

	frameHeader    byte = 'H'
	frameWorkspace byte = 'W'
	frameBlock     byte = 'B'
	frameEnd       byte = 'E'
	frameTrailer   byte = 'Z'

	blockTarget = 1 << 20
	maxFrame    = blockTarget + store.MaxKeySize + store.MaxValueSize + 64
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// BackupError reports why a backup file was refused and where.
type BackupError struct {
	// Offset is the byte offset in the file where the problem was found.
	Offset int64
	// Reason says what is wrong, in lower case.
	Reason string
	// Err is ErrBackupCorrupt, ErrBackupTruncated or ErrBackupVersion.
	Err error
}

func (e *BackupError) Error() string {
	return fmt.Sprintf("crm: backup at byte %d: %v: %s", e.Offset, e.Err, e.Reason)
}

// Unwrap returns the sentinel the error matches.
func (e *BackupError) Unwrap() error { return e.Err }

// Is makes a truncated backup match ErrBackupCorrupt as well.
func (e *BackupError) Is(target error) bool {
	return target == ErrBackupCorrupt && e.Err == ErrBackupTruncated
}

// BackupHeader describes a backup file.
type BackupHeader struct {
	// Format is the file format version.
	Format int `json:"format"`
	// CreatedAt is when the backup's snapshot was taken.
	CreatedAt time.Time `json:"created_at"`
	// Whole is set for a backup of every workspace of a store.
	Whole bool `json:"whole"`
	// Workspaces are the IDs of the workspaces in the file, in order.
	Workspaces []string `json:"workspaces"`
}

// BackupStats counts what a backup or restore carried.
type BackupStats struct {
	// Workspaces is the number of workspaces written or restored.
	Workspaces int
	// Keys is the number of keys, registry entries included.
	Keys int64
	// Bytes is the size of the file read or written so far.
	Bytes int64
}

// frameWriter writes frames and counts bytes.
type frameWriter struct {
	w   *bufio.Writer
	n   int64
	buf []byte
}

func (fw *frameWriter) write(b []byte) error {
	n, err := fw.w.Write(b)
	fw.n += int64(n)
	return err
}

func (fw *frameWriter) frame(typ byte, payload []byte) error {
	fw.buf = append(fw.buf[:0], typ)
	fw.buf = binary.AppendUvarint(fw.buf, uint64(len(payload)))
	if err := fw.write(fw.buf); err != nil {
		return err
	}
	if err := fw.write(payload); err != nil {
		return err
	}
	crc := crc32.Update(crc32.Checksum([]byte{typ}, castagnoli), castagnoli, payload)
	return fw.write(binary.BigEndian.AppendUint32(fw.buf[:0], crc))
}

// frameReader reads frames, keeping one payload buffer.
type frameReader struct {
	r       *bufio.Reader
	off     int64
	payload []byte
}

func (fr *frameReader) fail(reason string, sentinel error) error {
	return &BackupError{Offset: fr.off, Reason: reason, Err: sentinel}
}

func (fr *frameReader) full(b []byte, what string) error {
	n, err := io.ReadFull(fr.r, b)
	fr.off += int64(n)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fr.fail("file ends inside "+what, ErrBackupTruncated)
	}
	return err
}

// start reads the magic and the version.
func (fr *frameReader) start() error {
	var b [len(backupMagic) + 2]byte
	if err := fr.full(b[:], "the magic number"); err != nil {
		if errors.Is(err, ErrBackupTruncated) {
			return fr.fail("not a crmkit backup (too short)", ErrBackupCorrupt)
		}
		return err
	}
	if string(b[:len(backupMagic)]) != backupMagic {
		return &BackupError{Offset: 0, Reason: "not a crmkit backup (wrong magic number)", Err: ErrBackupCorrupt}
	}
	if v := binary.BigEndian.Uint16(b[len(backupMagic):]); v != backupVersion {
		if v > backupVersion {
			return &BackupError{Offset: int64(len(backupMagic)), Reason: fmt.Sprintf("format %d, this version reads %d", v, backupVersion), Err: ErrBackupVersion}
		}
		return &BackupError{Offset: int64(len(backupMagic)), Reason: fmt.Sprintf("unknown format %d", v), Err: ErrBackupCorrupt}
	}
	return nil
}

// next reads one frame; the payload is valid until the next call.
func (fr *frameReader) next() (byte, []byte, error) {
	at := fr.off
	typ, err := fr.r.ReadByte()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return 0, nil, fr.fail("file ends before its trailer", ErrBackupTruncated)
		}
		return 0, nil, err
	}
	fr.off++
	size, err := binary.ReadUvarint(byteCounter{fr})
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, nil, fr.fail("file ends inside a frame header", ErrBackupTruncated)
		}
		return 0, nil, fr.fail("malformed frame length", ErrBackupCorrupt)
	}
	if size > maxFrame {
		return 0, nil, &BackupError{Offset: at, Reason: fmt.Sprintf("frame of %d bytes exceeds the limit of %d", size, maxFrame), Err: ErrBackupCorrupt}
	}
	if uint64(cap(fr.payload)) < size {
		fr.payload = make([]byte, size)
	}
	fr.payload = fr.payload[:size]
	if err := fr.full(fr.payload, "a frame"); err != nil {
		return 0, nil, err
	}
	var sum [4]byte
	if err := fr.full(sum[:], "a checksum"); err != nil {
		return 0, nil, err
	}
	crc := crc32.Update(crc32.Checksum([]byte{typ}, castagnoli), castagnoli, fr.payload)
	if binary.BigEndian.Uint32(sum[:]) != crc {
		return 0, nil, &BackupError{Offset: at, Reason: fmt.Sprintf("checksum mismatch in frame %q", typ), Err: ErrBackupCorrupt}
	}
	return typ, fr.payload, nil
}

// byteCounter reads single bytes for binary.ReadUvarint, counting them.
type byteCounter struct{ fr *frameReader }

func (b byteCounter) ReadByte() (byte, error) {
	c, err := b.fr.r.ReadByte()
	if err == nil {
		b.fr.off++
	}
	return c, err
}

// backupVisitor receives what a backup holds, as it is read.
type backupVisitor interface {
	header(h *BackupHeader) error
	workspace(id string, registry []byte) error
	// block receives the entries of one block, keys relative to the
	// workspace prefix; the slices are valid until it returns.
	block(keys, values [][]byte) error
	end() error
}

// readBackup reads a whole backup, verifying every checksum, count and
// the order of keys, and hands its content to v as it goes. It returns
// the file's header and what it held.
func readBackup(r io.Reader, v backupVisitor, progress func(keys, bytes int64)) (BackupHeader, BackupStats, error) {
	fr := &frameReader{r: bufio.NewReaderSize(r, 1<<16)}
	var hdr BackupHeader
	var st BackupStats
	if err := fr.start(); err != nil {
		return hdr, st, err
	}
	typ, p, err := fr.next()
	if err != nil {
		return hdr, st, err
	}
	if typ != frameHeader {
		return hdr, st, fr.fail("the first frame is not the header", ErrBackupCorrupt)
	}
	if err := json.Unmarshal(p, &hdr); err != nil {
		return hdr, st, fr.fail("malformed header: "+err.Error(), ErrBackupCorrupt)
	}
	if hdr.Format != backupVersion {
		return hdr, st, fr.fail(fmt.Sprintf("header names format %d", hdr.Format), ErrBackupCorrupt)
	}
	if err := v.header(&hdr); err != nil {
		return hdr, st, err
	}
	var (
		inWS    = false
		wsKeys  uint64
		sum     hash.Hash
		lastKey []byte
		// keys and values of the current block, reused.
		keys, values [][]byte
	)
	for {
		typ, p, err := fr.next()
		if err != nil {
			return hdr, st, err
		}
		pr := &cursor{b: p}
		switch {
		case typ == frameWorkspace && !inWS:
			id := string(pr.raw())
			reg := pr.raw()
			if pr.bad || len(pr.b) != 0 {
				return hdr, st, fr.fail("malformed workspace frame", ErrBackupCorrupt)
			}
			if st.Workspaces >= len(hdr.Workspaces) || hdr.Workspaces[st.Workspaces] != id {
				return hdr, st, fr.fail(fmt.Sprintf("workspace %q is not the next one the header lists", id), ErrBackupCorrupt)
			}
			var info WorkspaceInfo
			if err := decode(reg, &info); err != nil || info.ID != id {
				return hdr, st, fr.fail(fmt.Sprintf("workspace %q has a malformed registry entry", id), ErrBackupCorrupt)
			}
			inWS, wsKeys, lastKey = true, 0, lastKey[:0]
			sum = sha256.New()
			if err := v.workspace(id, reg); err != nil {
				return hdr, st, err
			}
		case typ == frameBlock && inWS:
			sum.Write(p)
			n := pr.uvarint()
			if pr.bad || n == 0 || n > uint64(len(p)) {
				return hdr, st, fr.fail("malformed block count", ErrBackupCorrupt)
			}
			keys, values = keys[:0], values[:0]
			for range n {
				k, val := pr.raw(), pr.raw()
				if pr.bad {
					return hdr, st, fr.fail("malformed block entry", ErrBackupCorrupt)
				}
				if len(k) == 0 || len(k)+len(wsKey(hdr.Workspaces[st.Workspaces])) > store.MaxKeySize || len(val) > store.MaxValueSize {
					return hdr, st, fr.fail("entry key or value out of bounds", ErrBackupCorrupt)
				}
				if len(lastKey) > 0 && bytes.Compare(k, lastKey) <= 0 {
					return hdr, st, fr.fail("keys out of order", ErrBackupCorrupt)
				}
				lastKey = append(lastKey[:0], k...)
				keys, values = append(keys, k), append(values, val)
			}
			if len(pr.b) != 0 {
				return hdr, st, fr.fail("trailing bytes in block", ErrBackupCorrupt)
			}
			wsKeys += n
			st.Keys += int64(n)
			st.Bytes = fr.off
			if err := v.block(keys, values); err != nil {
				return hdr, st, err
			}
			if progress != nil {
				progress(st.Keys, st.Bytes)
			}
		case typ == frameEnd && inWS:
			n := pr.uvarint()
			if pr.bad || len(pr.b) != sha256.Size {
				return hdr, st, fr.fail("malformed workspace end", ErrBackupCorrupt)
			}
			if n != wsKeys {
				return hdr, st, fr.fail(fmt.Sprintf("workspace %q: %d keys read, the file says %d", hdr.Workspaces[st.Workspaces], wsKeys, n), ErrBackupCorrupt)
			}
			if !bytes.Equal(sum.Sum(nil), pr.b) {
				return hdr, st, fr.fail(fmt.Sprintf("workspace %q: digest mismatch", hdr.Workspaces[st.Workspaces]), ErrBackupCorrupt)
			}
			inWS = false
			st.Workspaces++
			st.Keys++ // the registry entry
			if err := v.end(); err != nil {
				return hdr, st, err
			}
		case typ == frameTrailer && !inWS:
			ws, keys := pr.uvarint(), pr.uvarint()
			if pr.bad || len(pr.b) != 0 {
				return hdr, st, fr.fail("malformed trailer", ErrBackupCorrupt)
			}
			if int(ws) != st.Workspaces || ws != uint64(len(hdr.Workspaces)) || int64(keys) != st.Keys {
				return hdr, st, fr.fail("trailer counts do not match the content", ErrBackupCorrupt)
			}
			if _, err := fr.r.ReadByte(); err == nil {
				return hdr, st, fr.fail("data after the trailer", ErrBackupCorrupt)
			} else if !errors.Is(err, io.EOF) {
				return hdr, st, err
			}
			st.Bytes = fr.off
			return hdr, st, nil
		default:
			return hdr, st, fr.fail(fmt.Sprintf("unexpected frame %q", typ), ErrBackupCorrupt)
		}
	}
}

// VerifyBackup reads a backup to its end and checks it whole: format,
// every checksum and count, the order of keys. It writes nothing. It
// returns the file's header and what it holds, or a *BackupError.
func VerifyBackup(r io.Reader) (BackupHeader, BackupStats, error) {
	return readBackup(r, nopVisitor{}, nil)
}

type nopVisitor struct{}

func (nopVisitor) header(*BackupHeader) error     { return nil }
func (nopVisitor) workspace(string, []byte) error { return nil }
func (nopVisitor) block(_, _ [][]byte) error      { return nil }
func (nopVisitor) end() error                     { return nil }
