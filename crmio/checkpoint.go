package crmio

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/crmkit/crmkit/crm"
)

// Checkpoint stores the progress of an import, so that an import that was
// interrupted (a cancelled context, a failed write, a crash) can be run
// again with the same input and goes on after the last committed row
// instead of importing the committed rows twice.
//
// Import loads the checkpoint when it starts. After each batch is
// committed it saves the line and input offset of the batch's last row,
// the counts so far and the batch's rejects; when it stops early on an
// error it first saves exactly the rows that were committed. When the
// input is read to the end it saves a final state with Done set; running
// it again returns the saved result without importing anything.
//
// FileCheckpoint stores it in a small sidecar file. An application can
// implement Checkpoint to keep it elsewhere (say, in its jobs table).
type Checkpoint interface {
	// Load returns the last saved state, with every reject saved so far,
	// or nil if nothing was saved yet.
	Load(ctx context.Context) (*CheckpointState, error)
	// Save records s durably before returning. s.Rejects holds only the
	// rows rejected since the previous Save.
	Save(ctx context.Context, s *CheckpointState) error
}

// CheckpointState is the progress of an import.
type CheckpointState struct {
	// Object is the object type imported.
	Object crm.Kind `json:"object"`
	// Line is the line of the last row committed.
	Line int `json:"line"`
	// Offset is the number of bytes of input up to the end of that row,
	// and CRC the CRC-32C (Castagnoli) of those bytes: a resumed import
	// checks that its input starts with the same bytes.
	Offset int64  `json:"offset"`
	CRC    uint32 `json:"crc"`
	// The counts up to Line, as in ImportResult.
	Read     int `json:"read"`
	Created  int `json:"created"`
	Updated  int `json:"updated"`
	Skipped  int `json:"skipped"`
	Rejected int `json:"rejected"`
	// CompaniesCreated is ImportResult.CompaniesCreated up to Line.
	CompaniesCreated int `json:"companies_created,omitempty"`
	// Done is set once the whole input was imported.
	Done bool `json:"done"`
	// Rejects: see Checkpoint.
	Rejects []Reject `json:"-"`
}

// FileCheckpoint keeps a checkpoint in the file at Path and the rejects in
// Path + ".rejects" (JSON Lines). The state file is replaced atomically
// (written to a temporary file, synced and renamed) after the rejects are
// appended and synced, so a crash at any moment leaves the last complete
// state: rejects appended after it are dropped by the next Load.
type FileCheckpoint struct {
	Path string
}

type fileState struct {
	CheckpointState
	RejectsSize int64 `json:"rejects_size"`
}

// Load reads the checkpoint, or returns nil if the file does not exist.
func (fc *FileCheckpoint) Load(ctx context.Context) (*CheckpointState, error) {
	b, err := os.ReadFile(fc.Path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCheckpoint, err)
	}
	var fs fileState
	if err := json.Unmarshal(b, &fs); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCheckpoint, fc.Path, err)
	}
	s := fs.CheckpointState
	f, err := os.OpenFile(fc.Path+".rejects", os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) && fs.RejectsSize == 0 {
		return &s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCheckpoint, err)
	}
	defer f.Close()
	// Drop rejects appended by a save that did not complete.
	if err := f.Truncate(fs.RejectsSize); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCheckpoint, err)
	}
	sc := bufio.NewScanner(io.LimitReader(f, fs.RejectsSize))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var r Reject
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%w: %s.rejects: %v", ErrCheckpoint, fc.Path, err)
		}
		s.Rejects = append(s.Rejects, r)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCheckpoint, err)
	}
	return &s, nil
}

// Save appends the new rejects, then replaces the state file.
func (fc *FileCheckpoint) Save(ctx context.Context, s *CheckpointState) error {
	f, err := os.OpenFile(fc.Path+".rejects", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("crmio: saving checkpoint: %w", err)
	}
	defer f.Close()
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("crmio: saving checkpoint: %w", err)
	}
	if len(s.Rejects) > 0 {
		w := bufio.NewWriter(f)
		enc := json.NewEncoder(w)
		for i := range s.Rejects {
			if err := enc.Encode(&s.Rejects[i]); err != nil {
				return fmt.Errorf("crmio: saving checkpoint: %w", err)
			}
		}
		if err := w.Flush(); err != nil {
			return fmt.Errorf("crmio: saving checkpoint: %w", err)
		}
		if err := f.Sync(); err != nil {
			return fmt.Errorf("crmio: saving checkpoint: %w", err)
		}
		if size, err = f.Seek(0, io.SeekEnd); err != nil {
			return fmt.Errorf("crmio: saving checkpoint: %w", err)
		}
	}
	b, err := json.Marshal(fileState{CheckpointState: *s, RejectsSize: size})
	if err != nil {
		return fmt.Errorf("crmio: saving checkpoint: %w", err)
	}
	tmp := fc.Path + ".tmp"
	if err := writeSynced(tmp, b); err != nil {
		return fmt.Errorf("crmio: saving checkpoint: %w", err)
	}
	if err := os.Rename(tmp, fc.Path); err != nil {
		return fmt.Errorf("crmio: saving checkpoint: %w", err)
	}
	if d, err := os.Open(filepath.Dir(fc.Path)); err == nil {
		_ = d.Sync() // make the rename durable where the platform allows
		_ = d.Close()
	}
	return nil
}

// Remove deletes the checkpoint files, for when the import's result has
// been dealt with.
func (fc *FileCheckpoint) Remove() error {
	var errs []error
	for _, p := range []string{fc.Path, fc.Path + ".rejects", fc.Path + ".tmp"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func writeSynced(path string, b []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
