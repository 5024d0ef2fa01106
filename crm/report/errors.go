package report

import "errors"

// ErrOverflow is the error of a report whose sums of amounts do not fit
// in 64 bits of minor units. A report never returns a wrapped sum; a
// single amount is at most crm.MaxAmount, so only sums of over a thousand
// of the largest amounts get here.
var ErrOverflow = errors.New("report: a sum of amounts overflows 64 bits")
