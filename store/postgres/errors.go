package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/crmkit/crmkit/store"
	"github.com/jackc/pgx/v5/pgconn"
)

var (
	// ErrInvalidConfig is returned by Open for a malformed dsn or options
	// that PostgreSQL or this package cannot accept.
	ErrInvalidConfig = errors.New("postgres: invalid configuration")
	// ErrSchemaTooNew is returned by Open when the database was migrated by
	// a newer version of this package than the running one. Nothing was
	// changed; upgrade the program.
	ErrSchemaTooNew = errors.New("postgres: database schema is newer than this program")
	// ErrUnavailable is returned when no session with the server could be
	// had or kept: the server refused or did not answer the connection,
	// rejected the login (unknown user or database, failed
	// authentication), or ended a session (restart, shutdown, a network
	// failure, pg_terminate_backend). The underlying error stays matchable
	// (*pgconn.ConnectError, *pgconn.PgError). The call failed and may be
	// run again once the server is back; the store's pool reconnects by
	// itself. Nothing of a failed Update was written, except in the one
	// case no client can rule out: a session lost while its COMMIT was in
	// flight, whose outcome is unknown.
	ErrUnavailable = errors.New("postgres: server unavailable")
)

// SQLSTATE codes the store treats specially.
const (
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
	codeLockNotAvailable     = "55P03"
	codeProgramLimitExceeded = "54000"
	codeReadOnlyTransaction  = "25006"
)

// wrap turns err, from the statement op, into an error for a caller:
// lost serialisations, deadlocks and lock timeouts match store.ErrConflict,
// PostgreSQL's program limits match store.ErrTooLarge, a write refused by a
// read-only server (a hot standby) matches store.ErrReadOnly, a failure
// caused by
// ctx matches ctx's error, and a session that could not be had or was lost
// matches ErrUnavailable. The original error stays matchable too (for
// errors.As with *pgconn.PgError).
func wrap(ctx context.Context, op string, err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case codeSerializationFailure, codeDeadlockDetected, codeLockNotAvailable:
			return fmt.Errorf("postgres: %s: %w: %w", op, store.ErrConflict, err)
		case codeProgramLimitExceeded:
			return fmt.Errorf("postgres: %s: %w: %w", op, store.ErrTooLarge, err)
		case codeReadOnlyTransaction:
			return fmt.Errorf("postgres: %s: %w: %w", op, store.ErrReadOnly, err)
		}
	}
	if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
		return fmt.Errorf("postgres: %s: %w: %w", op, ctxErr, err)
	}
	if ctx.Err() == nil && unavailable(err) {
		return fmt.Errorf("postgres: %s: %w: %w", op, ErrUnavailable, err)
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// unavailable reports whether err says that no session with the server
// could be had, or that the session was lost: a failed connection or
// login, a server that ended the session (SQLSTATE class 08, 57P01 to
// 57P03, or any FATAL error), or a connection that broke or was closed
// under the statement.
func unavailable(err error) bool {
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return true
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Severity == "FATAL" || pgErr.Severity == "PANIC" ||
			strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "57P0")
	}
	var netErr net.Error
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.As(err, &netErr) ||
		pgconn.SafeToRetry(err)
}

// withContext returns fn's error so that it matches ctx's error when ctx is
// done, as the store contract requires; otherwise err is returned
// unchanged.
func withContext(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
		return fmt.Errorf("postgres: %w: %w", ctxErr, err)
	}
	return err
}

// connectionLost reports whether err, from a statement on a connection now
// closed, certainly left the statement unexecuted, so that running it again
// on another connection is safe: nothing was sent, or the server sent a
// FATAL error (it terminated the session, which rolls back whatever was
// open) before answering.
func connectionLost(err error) bool {
	if pgconn.SafeToRetry(err) {
		return true
	}
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Severity == "FATAL"
}
