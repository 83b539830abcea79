// Package store defines Nubo's state store: closure transactions over typed
// records, a revision that every write transaction bumps, and a change feed
// written in the same transaction.
//
// The package holds interfaces and errors only; there is no SQL here. The
// implementations live in store/sqlite (the embedded default) and
// store/postgres (the scale-out store), both built on store/sqlstore, and
// store/storetest is the contract suite every implementation must pass.
//
// IDs and timestamps are minted by callers, never inside the store.
package store
