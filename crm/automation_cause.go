package crm

import "context"

// cause is the rule behind a change and the change's depth in a chain of
// rule-made changes. It travels in the context of the rule's write and is
// stamped on the change's history entry and events.
type cause struct {
	rule  string
	depth int
}

type causeKey struct{}

// withCause returns a context whose writes are attributed to rule, at
// depth in a chain of rule-made changes.
func withCause(ctx context.Context, rule string, depth int) context.Context {
	return context.WithValue(ctx, causeKey{}, cause{rule: rule, depth: depth})
}

func causeOf(ctx context.Context) (string, int) {
	c, _ := ctx.Value(causeKey{}).(cause)
	return c.rule, c.depth
}
