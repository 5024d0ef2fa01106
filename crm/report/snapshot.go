package report

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/store"
)

// Snapshot is a forecast as it stood when it was taken, kept so that a
// later report can compare what was forecast with what closed. Take one on
// demand, or from the host's scheduler (say, every Monday) with the same
// options each time.
type Snapshot struct {
	ID      string          `msgpack:"id" json:"id"`
	TakenAt time.Time       `msgpack:"taken_at" json:"taken_at"`
	Report  *ForecastReport `msgpack:"report" json:"report"`
}

func snapshotKey(id string) []byte { return []byte(snapshotPrefix + id) }

// TakeSnapshot computes the forecast o asks for and stores it.
func TakeSnapshot(ctx context.Context, ws *crm.Workspace, o ForecastOptions) (Snapshot, error) {
	rep, err := Forecast(ctx, ws, o)
	if err != nil {
		return Snapshot{}, err
	}
	var sn Snapshot
	err = ws.Update(ctx, func(tx *crm.Tx) error {
		sn = Snapshot{ID: tx.NewID("snp_"), TakenAt: tx.Now(), Report: rep}
		b, err := crm.Marshal(&sn)
		if err != nil {
			return err
		}
		return tx.Space(spaceName).Set(snapshotKey(sn.ID), b)
	})
	return sn, err
}

// GetSnapshot returns a stored snapshot, or an error matching
// crm.ErrNotFound.
func GetSnapshot(ctx context.Context, ws *crm.Workspace, id string) (Snapshot, error) {
	var sn Snapshot
	err := ws.View(ctx, func(rt *crm.ReadTx) error {
		b, err := rt.Space(spaceName).Get(snapshotKey(id))
		if errors.Is(err, crm.ErrNotFound) {
			return fmt.Errorf("report: snapshot %s: %w", id, crm.ErrNotFound)
		}
		if err != nil {
			return err
		}
		return crm.Unmarshal(b, &sn)
	})
	return sn, err
}

// Snapshots streams the stored snapshots, oldest first.
func Snapshots(ctx context.Context, ws *crm.Workspace) iter.Seq2[Snapshot, error] {
	return func(yield func(Snapshot, error) bool) {
		stopped := false
		err := ws.View(ctx, func(rt *crm.ReadTx) error {
			for e, err := range rt.Space(spaceName).Scan(store.Range{Prefix: []byte(snapshotPrefix)}) {
				if err != nil {
					return err
				}
				var sn Snapshot
				if err := crm.Unmarshal(e.Value, &sn); err != nil {
					return err
				}
				if stopped = !yield(sn, nil); stopped {
					return nil
				}
			}
			return nil
		})
		if err != nil && !stopped {
			yield(Snapshot{}, err)
		}
	}
}

// DeleteSnapshot removes a stored snapshot; it is not an error if there is
// none.
func DeleteSnapshot(ctx context.Context, ws *crm.Workspace, id string) error {
	return ws.Update(ctx, func(tx *crm.Tx) error { return tx.Space(spaceName).Delete(snapshotKey(id)) })
}

// AccuracyReport compares a snapshot's forecast with what has closed
// since, for the same period and options.
type AccuracyReport struct {
	SnapshotID string        `json:"snapshot_id"`
	TakenAt    time.Time     `json:"taken_at"`
	Rows       []AccuracyRow `json:"rows"`
}

// AccuracyRow is one owner's (or team's) forecast accuracy in one
// currency. Forecast and Commit are the snapshot's; Actual is the amount
// won in the period as of now. Error is Actual - Forecast (positive: more
// closed than forecast); AbsPctError is |Error| ÷ Actual, and 0 when
// nothing closed (the ratio is undefined then: read Error).
type AccuracyRow struct {
	Group       string  `json:"group"`
	Team        bool    `json:"team,omitempty"`
	Currency    string  `json:"currency"`
	Forecast    int64   `json:"forecast"`
	Commit      int64   `json:"commit"`
	Actual      int64   `json:"actual"`
	Error       int64   `json:"error"`
	AbsPctError float64 `json:"abs_pct_error"`
}

// ForecastAccuracy reruns a snapshot's forecast and compares (see
// AccuracyRow). Groups that appear in only one of the two have zeros on
// the other side. A forecast restricted to a segment reruns with the
// segment's members as they are now, and fails as Forecast does (an error
// matching ErrNotFound) once the segment is deleted.
func ForecastAccuracy(ctx context.Context, ws *crm.Workspace, snapshotID string) (*AccuracyReport, error) {
	sn, err := GetSnapshot(ctx, ws, snapshotID)
	if err != nil {
		return nil, err
	}
	now, err := Forecast(ctx, ws, sn.Report.Options)
	if err != nil {
		return nil, err
	}
	type rowKey struct {
		group    string
		team     bool
		currency string
	}
	rows := map[rowKey]*AccuracyRow{}
	var sum sums
	row := func(r ForecastRow) *AccuracyRow {
		k := rowKey{r.Group, r.Team, r.Currency}
		a := rows[k]
		if a == nil {
			a = &AccuracyRow{Group: r.Group, Team: r.Team, Currency: r.Currency}
			rows[k] = a
		}
		return a
	}
	for _, r := range sn.Report.Rows {
		a := row(r)
		a.Forecast, a.Commit = r.Forecast, r.Commit
	}
	for _, r := range now.Rows {
		row(r).Actual = r.ClosedWon
	}
	rep := &AccuracyReport{SnapshotID: sn.ID, TakenAt: sn.TakenAt, Rows: make([]AccuracyRow, 0, len(rows))}
	for _, a := range rows {
		a.Error = sum.sub(a.Actual, a.Forecast)
		if a.Actual != 0 {
			a.AbsPctError = math.Abs(float64(a.Error)) / float64(a.Actual)
		}
		rep.Rows = append(rep.Rows, *a)
	}
	if err := sum.err(); err != nil {
		return nil, err
	}
	slices.SortFunc(rep.Rows, func(a, b AccuracyRow) int {
		return cmp.Or(cmpBool(a.Team, b.Team), cmp.Compare(a.Group, b.Group), cmp.Compare(a.Currency, b.Currency))
	})
	return rep, nil
}

// WriteCSV writes the accuracy report as CSV, one line per row; the team
// column tells a team's row from an owner's of the same name, as in the
// forecast's CSV.
func (r *AccuracyReport) WriteCSV(w io.Writer) error {
	rows := make([][]string, len(r.Rows))
	for i, x := range r.Rows {
		rows[i] = []string{x.Group, strconv.FormatBool(x.Team), x.Currency, itoa(x.Forecast), itoa(x.Commit), itoa(x.Actual), itoa(x.Error), ftoa(x.AbsPctError)}
	}
	return writeCSV(w, []string{"group", "team", "currency", "forecast", "commit", "actual", "error", "abs_pct_error"}, rows)
}
