package automation_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/crmkit/crmkit/crm"
	"github.com/crmkit/crmkit/crm/automation"
	"github.com/crmkit/crmkit/store/badger"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// timerKillChild, when set to "dir,unixnano", makes
// TestTimerSurvivesKill act as the child that fires the timers at that
// time and is killed in the middle.
const timerKillChild = "CRMKIT_TEST_TIMER_CHILD"

// TestTimerSurvivesKill fires a due timer in a child process over a
// Badger store with durable commits and kills the process with SIGKILL
// while the timer's action is being written, before the commit. Reopened,
// the store still holds the timer; firing again makes the action exactly
// once.
func TestTimerSurvivesKill(t *testing.T) {
	if arg := os.Getenv(timerKillChild); arg != "" {
		fireUntilKilled(t, arg)
		return
	}
	if testing.Short() {
		t.Skip("starts a child process")
	}
	dir := filepath.Join(t.TempDir(), "db")
	ctx := context.Background()
	clk := newClock()
	st, err := badger.Open(dir)
	require.NoError(t, err)
	c := crm.New(st, crm.WithClock(clk.Now))
	ws, err := c.CreateWorkspace(ctx, crm.WorkspaceInfo{ID: "w"})
	require.NoError(t, err)
	doc, err := automation.Recipe(automation.RecipeStalledDeal)
	require.NoError(t, err)
	_, err = automation.RulesOf(ws).SaveJSON(ctx, doc)
	require.NoError(t, err)
	_, err = ws.Deals().Create(ctx, crm.Deal{Name: "Idle deal", OwnerID: "ann"})
	require.NoError(t, err)
	_, err = automation.New(c).Step(ctx)
	require.NoError(t, err)
	require.NoError(t, st.Close())

	clk.Advance(15 * 24 * time.Hour)
	cmd := exec.Command(os.Args[0], "-test.run=^TestTimerSurvivesKill$", "-test.count=1")
	cmd.Env = append(os.Environ(), timerKillChild+"="+dir+","+strconv.FormatInt(clk.Now().UnixNano(), 10))
	cmd.Stderr = os.Stderr
	err = cmd.Run()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "the child must die")
	require.False(t, exit.Success())

	st, err = badger.Open(dir)
	require.NoError(t, err)
	defer st.Close()
	c = crm.New(st, crm.WithClock(clk.Now))
	ws, err = c.Workspace(ctx, "w")
	require.NoError(t, err)
	count := func() int {
		n := 0
		for a, err := range ws.Activities().List(ctx, crm.ListOptions{}) {
			require.NoError(t, err)
			if a.Type == crm.ActivityTask {
				n++
			}
		}
		return n
	}
	require.Zero(t, count(), "the killed transaction left nothing")
	a := automation.New(c)
	rep, err := a.Step(ctx)
	require.NoError(t, err)
	assert.Zero(t, rep.Timers, "the dead child's timer lease has not run out")
	clk.Advance(time.Minute)
	a = automation.New(c)
	rep, err = a.Step(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Timers, "the timer survived the crash")
	assert.Equal(t, 1, count())
	_, err = a.Step(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, count(), "and fired once")
}

// fireUntilKilled is the child: it fires the due timers and kills itself
// when the task is about to be written.
func fireUntilKilled(t *testing.T, arg string) {
	dir, nanos, _ := cut(arg)
	n, err := strconv.ParseInt(nanos, 10, 64)
	require.NoError(t, err)
	st, err := badger.Open(dir)
	require.NoError(t, err)
	c := crm.New(st, crm.WithClock(func() time.Time { return time.Unix(0, n).UTC() }))
	c.Hooks().BeforeActivity.BindFunc(func(context.Context, *crm.Before[crm.Activity]) error {
		p, _ := os.FindProcess(os.Getpid())
		_ = p.Kill()
		select {}
	})
	_, err = automation.New(c).FireDue(context.Background())
	t.Fatalf("the child was not killed: %v", err)
}

func cut(s string) (string, string, bool) {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == ',' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
