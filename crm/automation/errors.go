package automation

import (
	"errors"
	"fmt"

	"github.com/crmkit/crmkit/crm"
)

// errSkip rolls back a write that turned out to have nothing to do.
var errSkip = errors.New("automation: nothing to do")

// errLoop stops a rule run whose chain is too deep.
var errLoop = errors.New("automation: rule chain too deep")

// errStop ends a scan its consumer stopped.
var errStop = errors.New("automation: stop")

// notFound is the error of a missing rule, model, sequence or parked
// run: it matches crm.ErrNotFound.
func notFound(kind, id string) error {
	return fmt.Errorf("automation: %s %s: %w", kind, id, crm.ErrNotFound)
}

func isNotFoundOrDeleted(err error) bool {
	return errors.Is(err, crm.ErrNotFound) || errors.Is(err, crm.ErrDeleted)
}
