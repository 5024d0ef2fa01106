// Package report computes a workspace's reports: the open pipeline,
// forecasts with quotas, forecast snapshots and their accuracy, conversion
// and velocity, lead conversion, churn and retention, revenue and
// lifetime value, cross-sell candidates and operations, each with CSV
// output, and SVG charts of the main ones.
//
//	rep, err := report.Pipeline(ctx, ws, report.Filter{GroupBy: report.GroupOwner})
//
// Every report takes a Filter for what they share (owners, dates, a
// segment or an ad-hoc filter, grouping, currency, time zone); reports with
// options of their own take an options struct that embeds it. Weeks,
// months and quarters are cut in the workspace's time zone
// (crm.WorkspaceInfo.TimeZone, UTC by default) unless the filter names
// another.
//
// Reports are computed by streaming the workspace's records in one read
// transaction (crm.Workspace.View): memory grows with the number of groups
// a report returns (and, where a report says so, with one number per
// measured deal for medians), never with the number of records scanned,
// except that a report restricted to a segment or an ad-hoc filter holds
// the IDs of its members. Money is reported per currency: amounts in
// different currencies are never added together. The pipeline report
// reads the open-deal aggregate the write path keeps when it can
// (crm.ReadTx.OpenDealTotals), and the conversion report the conversion
// aggregate (crm.ReadTx.ConversionCounters), with its stalled deals
// counted from counters of open deals by the month they entered their
// stage (crm.ReadTx.OpenStayCounts) and read from an index of open deals
// by stage entry (crm.ReadTx.OpenStays).
//
// Quotas and snapshots are kept in the workspace's Space "report", in the
// same store as the records.
//
// Invalid options fail with a *crm.ValidationError naming each field.
//
// The package imports crm, crm/filter, crm/chart, store and the standard
// library, and uses nothing of crm that is not exported.
package report
