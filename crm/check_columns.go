package crm

import (
	"github.com/crmkit/crmkit/store"
	"github.com/crmkit/crmkit/store/tuple"
)

// columns is pass 2 over the column projections of one kind (see
// columns.go), whose keys name their record: a row no live record needs
// is stale, one with other values than its record's is wrong.
func (ck *checker) columns(k checkKind) error {
	prefix := ck.w.k(tagColumn).byte(k.code)
	for e, err := range ck.t.tx.Scan(store.Range{Prefix: prefix}) {
		if err != nil {
			return err
		}
		ck.report.Entries++
		ck.progress()
		r := tuple.NewReader(e.Key[len(prefix):])
		id := r.Str()
		if r.Err() != nil {
			id = ""
		}
		if err := ck.judge(k, id, e.Key, e.Value); err != nil {
			return err
		}
	}
	return nil
}
