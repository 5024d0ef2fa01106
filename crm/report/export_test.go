package report

import (
	"context"

	"github.com/crmkit/crmkit/crm"
)

// PipelineByScan is Pipeline streaming the deals, never reading the
// open-deal aggregate.
func PipelineByScan(ctx context.Context, ws *crm.Workspace, f Filter) (*PipelineReport, error) {
	return pipelineReport(ctx, ws, f, false)
}

// ConversionByScan is Conversion streaming the deals, never reading the
// conversion aggregate.
func ConversionByScan(ctx context.Context, ws *crm.Workspace, o ConversionOptions) (*ConversionReport, error) {
	return conversionReport(ctx, ws, o, false)
}
