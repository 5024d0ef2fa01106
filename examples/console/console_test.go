package main

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/filter"
	"github.com/crmkit/crmkit/crm/report"
)

// TestConsole drives the console in a real browser through what a user
// does: the board, a drag to another stage, a contact's timeline, the
// search box, the segment builder, the reports, a rep's restricted view and
// a second tab that follows the first. Each screen is saved as a screenshot,
// and any error on a page's console fails the test.
func TestConsole(t *testing.T) {
	con := startConsole(t)
	b := newBrowser(t, con.url)
	ctx := crm.As(context.Background(), crm.System())
	pipeline, err := con.ws.Pipelines().Default(ctx)
	if err != nil { // the demo's pipeline replaced the default one
		for p, err := range con.ws.Pipelines().List(ctx) {
			require.NoError(t, err)
			pipeline = p
		}
	}
	stage := func(name string) crm.Stage {
		s, ok := pipeline.StageByName(name)
		require.True(t, ok, name)
		return s
	}
	count := func(object crm.Kind, f string) int64 {
		e, err := filter.Parse(f)
		require.NoError(t, err)
		n, err := con.ws.Query(object, e).Count(ctx)
		require.NoError(t, err)
		return n
	}

	b.logIn("admin")
	var moved string

	t.Run("board", func(t *testing.T) {
		b := b.with(t)
		for _, s := range pipeline.Stages {
			want := count(crm.KindDeal, `stage_id = "`+s.ID+`"`)
			got := eval[string](b, `document.querySelector('.column[data-stage="`+s.ID+`"] [data-testid="count"]').textContent`)
			assert.Equal(t, want, parseInt(t, got), "deals in %s", s.Name)
		}
		// The weighted total of each open column is the pipeline report's,
		// in whole dollars.
		rep, err := report.Pipeline(ctx, con.ws, report.Filter{GroupBy: report.GroupStage})
		require.NoError(t, err)
		weighted := map[string]int64{}
		for _, r := range rep.Rows {
			weighted[r.StageID] += r.Weighted
		}
		for _, s := range pipeline.Stages {
			if s.Kind != crm.StageOpen {
				continue
			}
			text := eval[string](b, `document.querySelector('.column[data-stage="`+s.ID+`"] [data-testid="weighted"]').textContent`)
			dollars := parseInt(t, strings.NewReplacer("$", "", ",", "").Replace(text))
			assert.InDelta(t, float64(weighted[s.ID])/100, float64(dollars), 0.5, "weighted total of %s", s.Name)
		}
		b.screenshot("board")
	})

	t.Run("drag a deal to another stage", func(t *testing.T) {
		b := b.with(t)
		from, to := stage("Prospecting"), stage("Engaging")
		moved = eval[string](b, `document.querySelector('.column[data-stage="`+from.ID+`"] .card').dataset.deal`)
		b.drag(`.card[data-deal="`+moved+`"]`, `.column[data-stage="`+to.ID+`"] .column-head`)
		b.waitFor(`!!document.querySelector('.column[data-stage="` + to.ID + `"] .card[data-deal="` + moved + `"]:not(.pending)')`)
		d, err := con.ws.Deals().Get(ctx, moved)
		require.NoError(t, err)
		assert.Equal(t, to.ID, d.StageID, "the move is stored")
		// And it holds after a reload.
		b.open("#/board")
		b.waitBoard()
		b.waitFor(`!!document.querySelector('.column[data-stage="` + to.ID + `"] .card[data-deal="` + moved + `"]')`)
		b.screenshot("board-after-move")
	})

	var contact crm.Contact
	t.Run("contact timeline", func(t *testing.T) {
		b := b.with(t)
		d, err := con.ws.Deals().Get(ctx, moved)
		require.NoError(t, err)
		if len(d.Contacts) == 0 { // an account-less deal: take any deal with a contact
			for d2, err := range con.ws.Deals().List(ctx, crm.ListOptions{}) {
				require.NoError(t, err)
				if len(d2.Contacts) > 0 {
					d = d2
					break
				}
			}
		}
		contact, err = con.ws.Contacts().Get(ctx, d.Contacts[0].ContactID)
		require.NoError(t, err)
		b.open("#/contacts/" + contact.ID)
		b.waitFor(`document.querySelector('[data-testid="record-title"]')?.textContent === ` + jsString(contact.Name()))
		b.waitFor(`document.querySelectorAll('[data-testid="timeline"] li').length > 0`)
		b.do(chromedp.SendKeys(chromedp.CSS(`[data-testid="log-form"] input[name="subject"]`), "Called about the renewal"),
			chromedp.Click(chromedp.CSS(`[data-testid="log-form"] button`)))
		b.waitFor(`document.querySelector('[data-testid="timeline"]').textContent.includes("Called about the renewal")`)
		var logged bool
		for a, err := range con.ws.Activities().List(ctx, crm.ListOptions{}) {
			require.NoError(t, err)
			logged = logged || (a.Subject == "Called about the renewal" && len(a.ContactIDs) == 1 && a.ContactIDs[0] == contact.ID)
		}
		assert.True(t, logged, "the activity is stored, linked to the contact")
		b.screenshot("contact")
	})

	t.Run("search", func(t *testing.T) {
		b := b.with(t)
		b.do(chromedp.SendKeys(chromedp.CSS("#search"), contact.LastName[:4]))
		b.waitFor(`!!document.querySelector('#search-results a[href="#/contacts/` + contact.ID + `"]')`)
		b.screenshot("search")
		b.do(chromedp.Click(chromedp.CSS(`#search-results a[href="#/contacts/` + contact.ID + `"]`)))
		b.waitFor(`location.hash === "#/contacts/` + contact.ID + `"`)
	})

	t.Run("segment builder", func(t *testing.T) {
		b := b.with(t)
		b.open("#/segments")
		b.waitFor(`!!document.querySelector('.condition')`)
		// Deals over 5,000 dollars: typed in dollars, filtered in cents.
		b.do(chromedp.Evaluate[chromedp.Void](`(() => {
			const set = (sel, v, ev) => { const el = document.querySelector(sel); el.value = v; el.dispatchEvent(new Event(ev, {bubbles: true})); };
			set('select[name="kind"]', 'deals', 'change');
			set('.condition select[name="field"]', 'amount', 'change');
			set('.condition select[name="op"]', '>', 'change');
		})()`))
		b.do(chromedp.SendKeys(chromedp.CSS(`.condition input[name="value"]`), "5000"))
		want := count(crm.KindDeal, `amount > 500000`)
		require.Positive(t, want)
		b.waitFor(`document.querySelector('[data-testid="live-count"]').textContent === "` + itoa(want) + `"`)
		b.do(chromedp.SendKeys(chromedp.CSS(`form.save input[name="name"]`), "Big deals"),
			chromedp.Click(chromedp.CSS(`form.save button`)))
		b.waitFor(`document.querySelector('tr[data-segment="Big deals"] td.num')?.textContent === "` + itoa(want) + `"`)
		b.screenshot("segments")
	})

	t.Run("reports", func(t *testing.T) {
		b := b.with(t)
		b.open("#/reports")
		b.waitFor(`document.querySelectorAll('.reports article img').length === 3 &&
			[...document.querySelectorAll('.reports article img')].every((i) => i.complete && i.naturalWidth > 0)`)
		want := count(crm.KindDeal, `status = "open"`)
		assert.Equal(t, want, parseInt(t, eval[string](b, `document.querySelector('[data-testid="open-deals"]').textContent`)))
		b.screenshot("reports")
	})

	t.Run("a rep sees only their deals", func(t *testing.T) {
		b := b.with(t)
		b.logIn("anna")
		owners := eval[[]string](b, `[...document.querySelectorAll('.board .card .owner')].map((e) => e.textContent)`)
		require.NotEmpty(t, owners)
		for _, o := range owners {
			require.Equal(t, "anna", o)
		}
		var total int64
		for _, s := range pipeline.Stages {
			total += parseInt(t, eval[string](b, `document.querySelector('.column[data-stage="`+s.ID+`"] [data-testid="count"]').textContent`))
		}
		assert.Equal(t, count(crm.KindDeal, `owner_id = "anna"`), total)
		b.screenshot("board-as-rep")
	})

	t.Run("a second tab follows the first", func(t *testing.T) {
		b := b.with(t)
		second := b.newTab()
		second.open("#/board")
		second.waitBoard()
		second.do(chromedp.Evaluate[chromedp.Void](`window.notReloaded = true`))
		from, to := stage("Engaging"), stage("Proposal")
		id := eval[string](b, `document.querySelector('.column[data-stage="`+from.ID+`"] .card').dataset.deal`)
		b.drag(`.card[data-deal="`+id+`"]`, `.column[data-stage="`+to.ID+`"] .column-head`)
		second.waitFor(`!!document.querySelector('.column[data-stage="` + to.ID + `"] .card[data-deal="` + id + `"]')`)
		assert.True(t, eval[bool](second, `window.notReloaded === true`), "the second tab updated without a reload")
		second.screenshot("second-tab")
	})
}
