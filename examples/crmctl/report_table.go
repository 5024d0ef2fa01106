package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/report"
)

// tableSection is one table of a report's --format table output.
type tableSection struct {
	// title heads the table when a report prints more than one.
	title  string
	header []string
	rows   [][]string
}

// writeTables prints the sections as aligned columns, a blank line
// between them, each headed by its title when there are several.
func writeTables(w io.Writer, sections ...tableSection) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for i, s := range sections {
		if i > 0 {
			fmt.Fprintln(tw)
		}
		if len(sections) > 1 && s.title != "" {
			fmt.Fprintln(tw, s.title+":")
		}
		fmt.Fprintln(tw, strings.Join(s.header, "\t"))
		for _, r := range s.rows {
			fmt.Fprintln(tw, strings.Join(r, "\t"))
		}
		if len(s.rows) == 0 {
			fmt.Fprintln(tw, "(none)")
		}
		// Each section aligns its own columns.
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// grouping adds a report's group column to its tables when the report is
// grouped.
type grouping report.Group

// header returns cols after the group's column title.
func (g grouping) header(cols ...string) []string {
	if g == "" {
		return cols
	}
	return append([]string{strings.ToUpper(strings.TrimPrefix(string(g), "custom."))}, cols...)
}

// row returns cells after the group's cell ("(none)" for records without
// a value).
func (g grouping) row(group string, cells ...string) []string {
	if g == "" {
		return cells
	}
	if group == "" {
		group = "(none)"
	}
	return append([]string{group}, cells...)
}

// money formats an amount in minor units of currency as crmio writes it
// ("1234.50 EUR").
func money(amount int64, currency string) string {
	if s := (crm.Money{Amount: amount, Currency: currency}).String(); s != "" {
		return s
	}
	return "0"
}

// moneyFloat formats a fractional amount in minor units, rounded to a
// whole minor unit.
func moneyFloat(amount float64, currency string) string {
	return money(int64(math.Round(amount)), currency)
}

// pct formats a fraction as a percentage.
func pct(f float64) string { return fmt.Sprintf("%.1f%%", f*100) }

// num formats a measure with one decimal.
func num(f float64) string { return fmt.Sprintf("%.1f", f) }

// count formats a count.
func count(n int64) string { return fmt.Sprint(n) }
