package crm

import "context"

// DisableHooks makes c skip before- and after-hooks altogether, for the
// baseline of the hook-dispatch benchmarks.
func DisableHooks(c *CRM) { c.hooksOff = true }

// PipelineByScan is Workspace.Pipeline streaming the deals, never reading
// the pipeline aggregate.
func PipelineByScan(ctx context.Context, w *Workspace, f ReportFilter) (*PipelineReport, error) {
	return w.pipelineReport(ctx, f, false)
}
