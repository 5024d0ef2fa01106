package main

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkMavenImport runs the whole import of the dataset (four files,
// 8,800 opportunities, into a new Badger store, closed at the end) and
// reports its seconds and the opportunities per second. The baseline in
// the same run reads and parses the same four files with encoding/csv
// alone, so csv-ratio is what the import costs over reading its input.
func BenchmarkMavenImport(b *testing.B) {
	data := dataDir(b)
	var imp, plain time.Duration
	for range b.N {
		start := time.Now()
		sum, err := run(context.Background(), data, b.TempDir())
		imp += time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		if len(sum.Rejects) != 0 {
			b.Fatalf("%d rows rejected", len(sum.Rejects))
		}

		start = time.Now()
		for _, name := range []string{accountsFile, productsFile, teamsFile, pipelineFile} {
			f, err := os.Open(filepath.Join(data, name))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := csv.NewReader(f).ReadAll(); err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
		plain += time.Since(start)
	}
	b.ReportMetric(imp.Seconds()/float64(b.N), "import-s")
	b.ReportMetric(8800*float64(b.N)/imp.Seconds(), "opportunities/s")
	b.ReportMetric(float64(imp)/float64(plain), "csv-ratio")
}
