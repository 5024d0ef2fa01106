// Package postgres is a store.Store on PostgreSQL.
package postgres
