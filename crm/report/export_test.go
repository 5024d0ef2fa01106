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
