package report

import "errors"

// ErrOverflow is the error of a report whose sums of amounts do not fit
// in 64 bits of minor units. A single amount is at most crm.MaxAmount, so
// only sums of over a thousand of the largest amounts get here. A report
// does not return a wrapped sum, with one exception: the pipeline and
// conversion reports read sums the write path keeps per group of deals
// (pipeline, stage, currency, owner, month), and tell a group's sum that
// passed 2^63 (it reads negative: the deals are summed instead) but not
// one that passed 2^64, which takes over 2,048 of the largest amounts in
// one group.
var ErrOverflow = errors.New("report: a sum of amounts overflows 64 bits")
