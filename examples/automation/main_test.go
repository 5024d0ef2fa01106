package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAutomationExample(t *testing.T) {
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), &out))
	assert.Equal(t, want, out.String())
}

const want = `rules: 5
Mon 2026-03-02
  Hedy Lamarr assigned to ann [Route new leads]
  Alan Kay assigned to bob [Route new leads]
  Barbara Liskov assigned to cid [Route new leads]
  Ken Thompson assigned to ann [Route new leads]
Tue 2026-03-03
  new task "Re-engage Ada Lovelace" for bob, due Thu [Cold lead re-engagement]
  event custom.lead.reengage on Ada Lovelace [Cold lead re-engagement]
  new task "Follow up on Initech seats" for ann, due Wed [Stalled deal reminder]
Wed 2026-03-04
  deal won: Initech seats
  new task "Onboard Initech seats" for onboarding, due Fri [Won deal onboarding]
  Peter Gibbons is now a customer [Won deal onboarding]
  new note "Deal won: Initech seats" [Won deal onboarding]
  task overdue: "Send Peter the case study" (bob)
  new task "Overdue: Send Peter the case study" for maria, due Thu [Overdue task escalation]
Thu 2026-03-05
Fri 2026-03-06
  new task "Follow up on Globex renewal" for cid, due Sat [Stalled deal reminder]
  task overdue: "Re-engage Ada Lovelace" (bob)
  task overdue: "Overdue: Send Peter the case study" (maria)
  new task "Overdue: Re-engage Ada Lovelace" for maria, due Sat [Overdue task escalation]
Sat 2026-03-07
  task overdue: "Onboard Initech seats" (onboarding)
  new task "Overdue: Onboard Initech seats" for maria, due Sun [Overdue task escalation]
Sun 2026-03-08
  task overdue: "Follow up on Globex renewal" (cid)
  task overdue: "Overdue: Re-engage Ada Lovelace" (maria)
  new task "Overdue: Follow up on Globex renewal" for maria, due Mon [Overdue task escalation]
parked runs: 0
`
