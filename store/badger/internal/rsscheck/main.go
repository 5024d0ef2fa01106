package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/badger"
	dgbadger "github.com/dgraph-io/badger/v4"
)

// report is what rsscheck prints. Sizes are in MiB.
type report struct {
	Values       int     `json:"values"`
	ValueBytes   int     `json:"value_bytes"`
	WriteSeconds float64 `json:"write_seconds"`
	// After writing every value (the store is still open).
	AfterWrite status `json:"after_write"`
	// After a full scan of every value.
	AfterScan status `json:"after_scan"`
	// Peak over the whole run (VmHWM).
	PeakRSS float64 `json:"peak_rss_mib"`
	// Go heap in use after the scan, and what the runtime got from the OS.
	HeapInuse float64 `json:"heap_inuse_mib"`
	GoSys     float64 `json:"go_sys_mib"`
}

// status holds the resident set fields of /proc/self/status, in MiB.
type status struct {
	RSS  float64 `json:"rss_mib"`
	Anon float64 `json:"anon_mib"`
	File float64 `json:"file_mib"`
	HWM  float64 `json:"hwm_mib"`
}

func main() {
	dir := flag.String("dir", "", "database directory (default: a new temporary directory, removed afterwards)")
	n := flag.Int("n", 1_000_000, "number of values")
	size := flag.Int("size", 200, "value size in bytes")
	chunk := flag.Int("chunk", 1000, "keys per Update")
	heapProfile := flag.String("heapprofile", "", "write a heap profile here after the scan")
	badgerDefaults := flag.Bool("badger-defaults", false, "use Badger's own DefaultOptions instead of the store's profile, for comparison")
	flag.Parse()
	var opts []badger.Option
	if *badgerDefaults {
		opts = append(opts, badger.WithBadgerOptions(func(o *dgbadger.Options) {
			d := dgbadger.DefaultOptions(o.Dir)
			d.Logger = nil
			d.ExternalMagicVersion = o.ExternalMagicVersion
			*o = d
		}))
	}
	if err := run(*dir, *n, *size, *chunk, *heapProfile, opts); err != nil {
		fmt.Fprintln(os.Stderr, "rsscheck:", err)
		os.Exit(1)
	}
}

func run(dir string, n, size, chunk int, heapProfile string, opts []badger.Option) error {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "rsscheck-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	s, err := badger.Open(dir, opts...)
	if err != nil {
		return err
	}
	defer s.Close()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	value := make([]byte, size)
	fill := func() []byte {
		// Random bytes: the worst case for the block compression.
		for i := 0; i < len(value); i += 8 {
			var w [8]byte
			binary.LittleEndian.PutUint64(w[:], rng.Uint64())
			copy(value[i:], w[:])
		}
		return value
	}
	key := func(i int) []byte { return fmt.Appendf(nil, "contact/%010d", i) }

	start := time.Now()
	half := n / 2
	err = s.Batch(ctx, func(w store.Writer) error {
		for i := range half {
			if err := w.Set(key(i), fill()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("batch: %w", err)
	}
	for i := half; i < n; i += chunk {
		err := s.Update(ctx, func(tx store.Tx) error {
			for j := i; j < min(i+chunk, n); j++ {
				if err := tx.Set(key(j), fill()); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("update: %w", err)
		}
	}
	r := report{Values: n, ValueBytes: size, WriteSeconds: time.Since(start).Seconds()}
	if r.AfterWrite, err = readStatus(); err != nil {
		return err
	}

	count := 0
	err = s.View(ctx, func(tx store.Tx) error {
		for e, err := range tx.Scan(store.Range{Prefix: []byte("contact/")}) {
			if err != nil {
				return err
			}
			if len(e.Value) != size {
				return fmt.Errorf("value of %d bytes", len(e.Value))
			}
			count++
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("scan: %w", err)
	}
	if count != n {
		return fmt.Errorf("scanned %d values, wrote %d", count, n)
	}
	if r.AfterScan, err = readStatus(); err != nil {
		return err
	}
	r.PeakRSS = r.AfterScan.HWM
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	r.HeapInuse = mib(ms.HeapInuse)
	r.GoSys = mib(ms.Sys)
	if heapProfile != "" {
		f, err := os.Create(heapProfile)
		if err != nil {
			return err
		}
		if err := pprof.WriteHeapProfile(f); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return json.NewEncoder(os.Stdout).Encode(r)
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// readStatus reads the resident set fields of /proc/self/status.
func readStatus() (status, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return status{}, err
	}
	defer f.Close()
	var st status
	fields := map[string]*float64{"VmRSS:": &st.RSS, "RssAnon:": &st.Anon, "RssFile:": &st.File, "VmHWM:": &st.HWM}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.Fields(sc.Text())
		if len(parts) < 2 {
			continue
		}
		if p, ok := fields[parts[0]]; ok {
			kb, err := strconv.ParseFloat(parts[1], 64)
			if err != nil {
				return status{}, err
			}
			*p = kb / 1024
		}
	}
	return st, sc.Err()
}
